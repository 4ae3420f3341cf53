"""STIX 2.1 input: observed-data with the SCOs it references, or bare SCOs.

Accepted shapes:

- JSON lines, one STIX bundle per line (the streaming shape): each ``observed-data`` of
  the bundle is one observation made of the SCOs its ``object_refs`` name;
- JSON lines of observed-data carrying the (deprecated) ``objects`` dictionary;
- JSON lines of bare SCOs: each line is an observation of that one object, at the time
  the run started (SCOs carry no time);
- one bundle per file, pretty-printed or not, read as a stream of objects.

A bundle without observed-data is one observation of all its SCOs. Each observation keeps
its observed-data id, which the Sightings list in ``observed_data_refs``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from kakehashi.match.inputs.common import InputFile, Truncated, json_line
from kakehashi.match.inputs.jsonstream import BadDocument, iter_bundle_objects
from kakehashi.match.observation import SCO, Observation, Problem
from kakehashi.stix.timestamps import parse_timestamp_us

__all__ = ["iter_stix_objects", "read_stix"]

_NOT_SCO = frozenset(
    {
        "attack-pattern",
        "bundle",
        "campaign",
        "course-of-action",
        "extension-definition",
        "grouping",
        "identity",
        "incident",
        "indicator",
        "infrastructure",
        "intrusion-set",
        "language-content",
        "location",
        "malware",
        "malware-analysis",
        "marking-definition",
        "note",
        "observed-data",
        "opinion",
        "relationship",
        "report",
        "sighting",
        "threat-actor",
        "tool",
        "vulnerability",
    }
)


def _is_sco(obj: Any) -> bool:
    return (
        isinstance(obj, dict) and isinstance(obj.get("type"), str) and obj["type"] not in _NOT_SCO
    )


def observation_of(observed: Mapping[str, Any], scos: Mapping[str, SCO]) -> Observation:
    """One observed-data as an :class:`Observation`.

    Raises:
        ValueError: when it lacks its times or count, or references no known SCO.
    """
    try:
        first = parse_timestamp_us(observed["first_observed"])
        last = parse_timestamp_us(observed["last_observed"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError("observed-data needs valid first_observed and last_observed") from exc
    count = observed.get("number_observed", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"number_observed {count!r} is not a positive integer")
    if last < first:
        raise ValueError("last_observed is earlier than first_observed")
    embedded = observed.get("objects")
    if isinstance(embedded, dict):
        objects = {str(k): v for k, v in embedded.items() if _is_sco(v)}
    else:
        refs = observed.get("object_refs")
        if not isinstance(refs, list):
            raise ValueError("observed-data has neither object_refs nor objects")
        objects = {ref: scos[ref] for ref in refs if isinstance(ref, str) and ref in scos}
    if not objects:
        raise ValueError("observed-data references no SCO found in the input")
    ref = observed.get("id")
    return Observation(objects, first, last, count, ref if isinstance(ref, str) else None)


def observations_of(
    objects: Iterable[Any], *, now_us: int, source: str, line: int | None
) -> Iterator[Observation | Problem]:
    """The observations of one bundle's objects."""
    scos: dict[str, SCO] = {}
    observed: list[dict[str, Any]] = []
    for obj in objects:
        if _is_sco(obj):
            scos[str(obj.get("id", len(scos)))] = obj
        elif isinstance(obj, dict) and obj.get("type") == "observed-data":
            observed.append(obj)
    if not observed:
        if scos:
            yield Observation(scos, now_us, now_us)
        return
    for item in observed:
        try:
            yield observation_of(item, scos)
        except ValueError as exc:
            yield Problem(source, line, f"{item.get('id', 'observed-data')}: {exc}")


def _line(value: Any, *, now_us: int, source: str, line: int) -> Iterator[Observation | Problem]:
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        yield Problem(source, line, "not a STIX object")
    elif value["type"] == "bundle":
        objects = value.get("objects", [])
        if not isinstance(objects, list):
            yield Problem(source, line, "the bundle's objects is not a list")
            return
        yield from observations_of(objects, now_us=now_us, source=source, line=line)
    elif value["type"] == "observed-data":
        try:
            yield observation_of(value, {})
        except ValueError as exc:
            yield Problem(source, line, str(exc))
    elif _is_sco(value):
        yield Observation({str(value.get("id", "0")): value}, now_us, now_us)
    else:
        yield Problem(source, line, f"a {value['type']} is not an observation")


def read_stix(source: InputFile, *, now_us: int) -> Iterator[Observation | Problem]:
    """Observations from STIX JSON lines or one bundle (see the module docstring)."""
    head = source.head().lstrip()
    first_line, newline, _ = head.partition(b"\n")
    whole_document = False
    if newline:
        try:
            json_line(first_line)
        except ValueError:
            whole_document = True  # a pretty-printed document
    if whole_document:
        yield from _read_document(source, now_us=now_us)
        return
    try:
        for number, line, complete in source.lines():
            if not line.strip():
                continue
            try:
                value = json_line(line)
            except ValueError as exc:
                if not complete:
                    yield Problem(source.name, number, f"truncated: {exc}", fatal=True)
                    return
                yield Problem(source.name, number, str(exc))
                continue
            yield from _line(value, now_us=now_us, source=source.name, line=number)
    except Truncated as exc:
        yield Problem(source.name, None, f"truncated: {exc}", fatal=True)


def _read_document(source: InputFile, *, now_us: int) -> Iterator[Observation | Problem]:
    objects: list[Any] = []
    problem: Problem | None = None
    try:
        for obj in iter_bundle_objects(source.text()):
            objects.append(obj)
    except Truncated as exc:
        problem = Problem(source.name, None, f"truncated: {exc}", fatal=True)
    except BadDocument as exc:
        problem = Problem(source.name, None, f"not a STIX bundle: {exc}", fatal=True)
    yield from observations_of(objects, now_us=now_us, source=source.name, line=None)
    if problem is not None:
        yield problem


def iter_stix_objects(source: InputFile) -> Iterator[Any]:
    """Every STIX object of a bundle file, a TAXII envelope, or JSON lines of objects (or of
    bundles), streamed — how indicators are read from files.

    Raises:
        MatchInputError: when the input is not STIX JSON, or ends early.
    """
    from kakehashi.match.errors import MatchInputError

    head = source.head().lstrip()
    first_line, newline, _ = head.partition(b"\n")
    whole_document = False
    if newline:
        try:
            json_line(first_line)
        except ValueError:
            whole_document = True
    try:
        if whole_document:
            yield from iter_bundle_objects(source.text())
            return
        for number, line, _complete in source.lines():
            if not line.strip():
                continue
            try:
                value = json_line(line)
            except ValueError as exc:
                raise MatchInputError(str(exc), source=source.name, line=number) from exc
            if isinstance(value, dict) and isinstance(value.get("objects"), list):
                yield from value["objects"]
            else:
                yield value
    except Truncated as exc:
        raise MatchInputError(f"truncated: {exc}", source=source.name) from exc
    except BadDocument as exc:
        raise MatchInputError(f"not a STIX bundle: {exc}", source=source.name) from exc
