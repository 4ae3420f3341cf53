"""The objects of a STIX bundle (or TAXII envelope), one at a time, in bounded memory.

``json.load`` on a bundle of a million indicators builds all of them at once (gigabytes of
dicts); this walks the document with ``JSONDecoder.raw_decode`` over a sliding text buffer
and yields each element of ``objects`` as soon as it is complete. Other members are parsed
and dropped. A document that ends early raises :class:`Truncated`, after the objects that
were complete.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from kakehashi.match.inputs.common import Truncated

__all__ = ["BadDocument", "iter_bundle_objects"]

_CHUNK = 1 << 20
_WHITESPACE = " \t\r\n"


class BadDocument(ValueError):
    """The text is not a JSON object with an ``objects`` list."""


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


class _Buffer:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.text = ""
        self.pos = 0
        self.eof = False
        self.decoder = json.JSONDecoder(parse_constant=_reject_constant)
        self.consumed = 0  # characters dropped from the front, for error offsets

    def fill(self) -> bool:
        if self.eof:
            return False
        try:
            data = self.stream.read(_CHUNK)
        except EOFError as exc:  # gzip cut short
            raise Truncated("the compressed stream ends early") from exc
        except UnicodeDecodeError as exc:
            raise BadDocument(f"not UTF-8 text: {exc.reason}") from exc
        if not data:
            self.eof = True
            return False
        self.consumed += self.pos
        self.text = self.text[self.pos :] + data
        self.pos = 0
        return True

    def skip(self) -> str:
        """The next non-blank character (not consumed), or ``""`` at the end."""
        while True:
            text, pos = self.text, self.pos
            while pos < len(text) and text[pos] in _WHITESPACE:
                pos += 1
            self.pos = pos
            if pos < len(text):
                return text[pos]
            if not self.fill():
                return ""

    def expect(self, chars: str) -> str:
        char = self.skip()
        if not char:
            raise Truncated(f"the document ends early at character {self.consumed + self.pos}")
        if char not in chars:
            raise BadDocument(
                f"expected {' or '.join(repr(c) for c in chars)} at character"
                f" {self.consumed + self.pos}, found {char!r}"
            )
        self.pos += 1
        return char

    def value(self) -> Any:
        self.skip()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                # Failing at the end of the buffer (or inside a string running to it) may
                # just mean the value continues in the next chunk.
                at_end = exc.pos >= len(self.text) - 1 or exc.msg.startswith("Unterminated")
                if at_end and self.fill():
                    continue
                at = self.consumed + exc.pos
                if at_end:
                    raise Truncated(f"the document ends early at character {at}") from exc
                raise BadDocument(f"not JSON: {exc.msg} at character {at}") from exc
            except (ValueError, RecursionError) as exc:
                raise BadDocument(f"not JSON: {exc}") from exc
            # A number at the very end of the buffer may continue in the next chunk.
            if end == len(self.text) and not self.eof and self.fill():
                continue
            self.pos = end
            return value


def iter_bundle_objects(stream: IO[str]) -> Iterator[Any]:
    """Each element of the top-level ``objects`` list, in order.

    Raises:
        Truncated: when the document ends early (after yielding what was complete).
        BadDocument: when it is not a JSON object, or ``objects`` is not a list.
    """
    buffer = _Buffer(stream)
    buffer.expect("{")
    if buffer.skip() == "}":
        return
    while True:
        key = buffer.value()
        if not isinstance(key, str):
            raise BadDocument("a member name is not a string")
        buffer.expect(":")
        if key == "objects":
            buffer.expect("[")
            if buffer.skip() == "]":
                buffer.pos += 1
            else:
                while True:
                    yield buffer.value()
                    if buffer.expect(",]") == "]":
                        break
        else:
            buffer.value()
        if buffer.expect(",}") == "}":
            break
    if buffer.skip():
        raise BadDocument(f"extra data at character {buffer.consumed + buffer.pos}")
