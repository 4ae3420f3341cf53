"""Property checks: what one JSON value of a STIX object must be, and how a value is named
in a message.

Each check returns ``None`` when the value is fine, else what is wrong. The rule table
(:mod:`kakehashi.stix.rules`) combines them per type; :mod:`kakehashi.stix.validate` runs
them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = [
    "ACCEPT",
    "CUSTOM_PROPERTY_RE",
    "TYPE_RE",
    "UUID_ANY_CASE_RE",
    "UUID_RE",
    "Check",
    "base64_text",
    "boolean",
    "describe",
    "extensions",
    "fields",
    "granular_marking",
    "hashes",
    "integer",
    "json_object",
    "list_of",
    "nonempty_string",
    "number",
    "one_of",
    "ref",
    "refs",
    "shorten",
    "string",
    "timestamp_check",
]

#: A property check: ``None`` when the value is fine, else what is wrong (a phrase that
#: follows the quoted property name, e.g. ``"must be a string, not null"``).
Check = Callable[[Any], str | None]

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
TYPE_RE = re.compile(r"[a-z0-9][a-z0-9-]{1,248}[a-z0-9]")  # 3..250 chars, fullmatch
UUID_RE = re.compile(_UUID)
UUID_ANY_CASE_RE = re.compile(_UUID, re.IGNORECASE)
# Lazy type part: a greedy one swallows the UUID's hex and hyphens, then backtracks (2.5x slower).
_IDENTIFIER_RE = re.compile(rf"([a-z0-9][a-z0-9-]{{1,248}}?[a-z0-9])--{_UUID}")
CUSTOM_PROPERTY_RE = re.compile(r"[a-z0-9_]{3,250}")
_EXTENSION_NAME_RE = re.compile(rf"extension-definition--{_UUID}|[A-Za-z0-9_-]{{1,246}}-ext")
_BASE64_RE = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


# --- describing values in messages -------------------------------------------------------


def shorten(text: str) -> str:
    return repr(text) if len(text) <= 80 else repr(text[:77] + "...")


def describe(value: object) -> str:
    """Name a JSON value for a message: ``an integer (1)``, ``a string ('x')``, ``null``."""
    if value is None:
        return "null"
    if value is True or value is False:
        return f"a boolean ({str(value).lower()})"
    if type(value) is int:
        return f"an integer ({value})"
    if type(value) is float:
        return f"a number ({value!r})"
    if type(value) is str:
        return f"a string ({shorten(value)})"
    if type(value) is list:
        return "a list"
    if type(value) is dict:
        return "an object"
    return type(value).__name__


# --- property checks ---------------------------------------------------------------------


def timestamp_check(value: object) -> str | None:
    """Marker check: the validation loop parses timestamps itself (it keeps the result)."""
    return None if type(value) is str else f"must be a timestamp string, not {describe(value)}"


def _accept(value: object) -> str | None:
    return None


#: The check of ``type``, ``id`` and ``spec_version``, which the validator checks first.
ACCEPT: Check = _accept


def string(value: object) -> str | None:
    return None if type(value) is str else f"must be a string, not {describe(value)}"


def nonempty_string(value: object) -> str | None:
    if type(value) is str and value:
        return None
    return f"must be a non-empty string, not {describe(value)}"


def boolean(value: object) -> str | None:
    if value is True or value is False:
        return None
    return f"must be a boolean (true or false), not {describe(value)}"


def json_object(value: object) -> str | None:
    return None if type(value) is dict else f"must be a JSON object, not {describe(value)}"


def integer(low: int | None = None, high: int | None = None) -> Check:
    def check(value: object) -> str | None:
        if type(value) is not int:
            return f"must be an integer, not {describe(value)}"
        if (low is not None and value < low) or (high is not None and value > high):
            return f"must be {_range(low, high)}, not {value}"
        return None

    return check


def number(low: float | None = None, high: float | None = None) -> Check:
    def check(value: object) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be a number, not {describe(value)}"
        if (low is not None and value < low) or (high is not None and value > high):
            return f"must be {_range(low, high)}, not {value}"
        return None

    return check


def _range(low: float | None, high: float | None) -> str:
    if high is None:
        return f"at least {low}"
    if low is None:
        return f"at most {high}"
    return f"between {low} and {high}"


def one_of(*allowed: str) -> Check:
    values = frozenset(allowed)
    listed = ", ".join(repr(v) for v in allowed)

    def check(value: object) -> str | None:
        if type(value) is str and value in values:
            return None
        return f"must be one of {listed}, not {describe(value)}"

    return check


def list_of(item: Check) -> Check:
    def check(value: object) -> str | None:
        if type(value) is not list:
            return f"must be a list, not {describe(value)}"
        if not value:
            return "must not be an empty list (STIX forbids empty lists; omit the property)"
        for index, element in enumerate(value):
            reason = item(element)
            if reason is not None:
                return f"item {index} {reason}"
        return None

    return check


def ref(allowed: Iterable[str] = (), denied: Iterable[str] = (), what: str = "") -> Check:
    """An identifier check; ``allowed`` or ``denied`` restrict the referenced type."""
    allow, deny = frozenset(allowed), frozenset(denied)
    what = what or " or ".join(sorted(allow))

    def check(value: object) -> str | None:
        if type(value) is not str:
            return f"must be an identifier ('type--uuid'), not {describe(value)}"
        match = _IDENTIFIER_RE.fullmatch(value)
        if match is None:
            return (
                f"must be an identifier of the form 'type--<lowercase uuid>', not {shorten(value)}"
            )
        target = match.group(1)
        if (allow and target not in allow) or target in deny:
            return f"must refer to {what} object, not {shorten(value)}"
        return None

    return check


def refs(allowed: Iterable[str] = (), denied: Iterable[str] = (), what: str = "") -> Check:
    return list_of(ref(allowed, denied, what))


def hashes(value: object) -> str | None:
    if type(value) is not dict or not value:
        return f"must be a non-empty JSON object of algorithm -> digest, not {describe(value)}"
    for algorithm, digest in value.items():
        if type(digest) is not str or not digest:
            return f"entry {algorithm!r} must be a non-empty string, not {describe(digest)}"
    return None


def base64_text(value: object) -> str | None:
    if type(value) is str and _BASE64_RE.fullmatch(value):
        return None
    return f"must be base64 text, not {describe(value)}"


def fields(required: Mapping[str, Check], optional: Mapping[str, Check]) -> Check:
    """Check a nested JSON object: required members, and the type of known members."""

    def check(value: object) -> str | None:
        if type(value) is not dict:
            return f"must be a JSON object, not {describe(value)}"
        for name in required:
            if name not in value:
                return f"needs {name!r}"
        for name, member in value.items():
            member_check = required.get(name) or optional.get(name)
            if member_check is not None and (reason := member_check(member)) is not None:
                return f"{name!r} {reason}"
        return None

    return check


def granular_marking(value: object) -> str | None:
    reason = _GRANULAR_FIELDS(value)
    if reason is not None:
        return reason
    assert type(value) is dict  # _GRANULAR_FIELDS checked it
    if ("marking_ref" in value) == ("lang" in value):
        return "needs exactly one of 'marking_ref' and 'lang'"
    return None


def extensions(value: object) -> str | None:
    if type(value) is not dict:
        return f"must be a JSON object, not {describe(value)}"
    for name, extension in value.items():
        if not _EXTENSION_NAME_RE.fullmatch(name):
            return (
                f"key {shorten(name)} must be an extension-definition id "
                "('extension-definition--<uuid>') or a predefined extension name ending in '-ext'"
            )
        if type(extension) is not dict:
            return f"entry {shorten(name)} must be a JSON object, not {describe(extension)}"
    return None


_GRANULAR_FIELDS = fields(
    {"selectors": list_of(nonempty_string)},
    {"marking_ref": ref({"marking-definition"}, what="a marking-definition"), "lang": string},
)
