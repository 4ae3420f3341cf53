"""Split a TAXII envelope into its objects, keeping each object's exact JSON text.

The hub stores objects byte for byte as received and streams them back without
re-serialising (DESIGN.md). ``json.loads`` would lose the original text, so the envelope
is walked with ``JSONDecoder.raw_decode``: each value is parsed once by the C scanner,
and the end offset it returns gives the exact span of each object in the body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kakehashi.errors import InvalidEnvelope

__all__ = ["RawObject", "split_envelope"]

_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _reject_constant(name: str) -> None:
    # Python's decoder accepts NaN and Infinity; JSON (RFC 8259) and STIX do not.
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
# The decoder's scanner, called directly for each element of ``objects`` (raw_decode wraps
# it in a Python frame); an element it refuses is decoded again by _decode for the message.
_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
_SPACE = frozenset(" \t\n\r")


@dataclass(frozen=True, slots=True)
class RawObject:
    """One element of the envelope's ``objects`` list: its parsed value and exact text."""

    value: Any
    raw: str


def _skip(text: str, pos: int) -> int:
    match = _WHITESPACE.match(text, pos)
    assert match is not None  # the pattern matches the empty string
    return match.end()


def _decode(text: str, pos: int) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, pos)
    except ValueError as exc:  # JSONDecodeError, and NaN/Infinity rejected above
        raise InvalidEnvelope(f"the body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise InvalidEnvelope("the body nests JSON too deeply") from exc


def _expect(text: str, pos: int, char: str, what: str) -> int:
    if pos >= len(text) or text[pos] != char:
        found = repr(text[pos]) if pos < len(text) else "end of input"
        raise InvalidEnvelope(
            f"the body is not valid JSON: expected {what} at offset {pos}, found {found}"
        )
    return pos + 1


def _split_array(text: str, pos: int) -> tuple[list[RawObject] | Any, int]:
    """Walk a JSON array starting at ``text[pos] == '['``; return its elements with spans."""
    items: list[RawObject] = []
    append = items.append
    end = len(text)
    pos = _skip(text, pos + 1)
    if pos < end and text[pos] == "]":
        return items, pos + 1
    while True:
        # Servers seldom put whitespace between elements: look before calling the regex.
        if pos < end and text[pos] in _SPACE:
            pos = _skip(text, pos)
        start = pos
        try:
            value, pos = _SCAN(text, pos)
        except (StopIteration, ValueError, RecursionError):
            _decode(text, start)  # raises InvalidEnvelope, saying what is wrong
            raise InvalidEnvelope(f"the body is not valid JSON at offset {start}") from None
        append(RawObject(value, text[start:pos]))
        if pos < end and text[pos] in _SPACE:
            pos = _skip(text, pos)
        if pos < end and text[pos] == ",":
            pos += 1
            continue
        return items, _expect(text, pos, "]", "',' or ']'")


def split_envelope(body: bytes) -> tuple[list[RawObject], dict[str, Any]]:
    """Parse a TAXII envelope body.

    Returns:
        the elements of ``objects`` with their exact text, and the other top-level members.

    Raises:
        InvalidEnvelope: when the body is not UTF-8 JSON, not an object, or has no
            ``objects`` list.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidEnvelope(f"the body is not UTF-8: {exc.reason} at byte {exc.start}") from exc
    if text.startswith("\ufeff"):
        raise InvalidEnvelope("the body starts with a byte-order mark; JSON must not")
    pos = _skip(text, 0)
    if pos >= len(text) or text[pos] != "{":
        if pos >= len(text):
            raise InvalidEnvelope("the body is empty; expected a TAXII envelope")
        _decode(text, pos)  # reports invalid JSON precisely when it is
        raise InvalidEnvelope("the body is JSON but not an object; expected a TAXII envelope")
    others: dict[str, Any] = {}
    objects: list[RawObject] | None = None
    pos = _skip(text, pos + 1)
    if pos < len(text) and text[pos] == "}":
        pos += 1
    else:
        while True:
            pos = _skip(text, pos)
            if pos >= len(text) or text[pos] != '"':
                _expect(text, pos, '"', "a member name")
            key, pos = _decode(text, pos)
            pos = _expect(text, _skip(text, pos), ":", "':'")
            pos = _skip(text, pos)
            if key == "objects" and pos < len(text) and text[pos] == "[":
                objects, pos = _split_array(text, pos)
            else:
                value, pos = _decode(text, pos)
                if key == "objects":
                    raise InvalidEnvelope("the envelope's 'objects' member must be a list")
                others[key] = value
            pos = _skip(text, pos)
            if pos < len(text) and text[pos] == ",":
                pos += 1
                continue
            pos = _expect(text, pos, "}", "',' or '}'")
            break
    if _skip(text, pos) != len(text):
        raise InvalidEnvelope(
            f"the body is not valid JSON: extra data at offset {_skip(text, pos)}"
        )
    if objects is None:
        raise InvalidEnvelope("the envelope has no 'objects' list")
    return objects, others
