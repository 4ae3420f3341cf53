"""Reading inputs: files or standard input, gzip or not, line by line, with line numbers.

A line that does not end with a newline is the last one; when it does not parse either,
the file was cut short (still being written, a copy that failed, a full disk), which a
reader reports as a fatal :class:`~kakehashi.match.observation.Problem` ("truncated"): the
run ends there and what was matched so far is written out. A gzip stream that stops
before its end marker is truncated in the same way.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import IO, Any, cast

from kakehashi.match.errors import MatchInputError
from kakehashi.stix.timestamps import parse_timestamp_us

__all__ = [
    "InputFile",
    "Truncated",
    "epoch_us",
    "json_line",
    "stamp_us",
]

_GZIP_MAGIC = b"\x1f\x8b"


class Truncated(Exception):
    """The input ended in the middle of something."""


class InputFile:
    """One input, opened for reading bytes.

    Args:
        path: a file path, or ``-`` for standard input.
        stdin: the stream standing for ``-`` (the CLI passes its own; tests too).

    Attributes:
        name: what messages call the input (``<stdin>`` for ``-``).
        size: bytes on disk, or ``None`` for standard input and pipes.
    """

    def __init__(self, path: str, *, stdin: IO[bytes] | None = None) -> None:
        self.path = path
        self.name = "<stdin>" if path == "-" else path
        raw: IO[bytes]
        if path == "-":
            if stdin is None:
                raise MatchInputError("no standard input to read", source=self.name)
            raw = stdin
            self.size: int | None = None
        else:
            try:
                raw = open(path, "rb")  # noqa: SIM115 - closed by close()
                self.size = os.fstat(raw.fileno()).st_size
            except OSError as exc:
                raise MatchInputError(exc.strerror or str(exc), source=self.name) from exc
        self._raw = raw
        self._stream: IO[bytes] = raw
        self._text: io.TextIOWrapper | None = None
        head = self._peek(raw, 2)
        if head.startswith(_GZIP_MAGIC):
            self._stream = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))

    @staticmethod
    def _peek(stream: IO[bytes], size: int) -> bytes:
        peek = getattr(stream, "peek", None)
        if peek is not None:
            return bytes(peek(size)[:size])
        if stream.seekable():
            start = stream.tell()
            head = stream.read(size)
            stream.seek(start)
            return head
        return b""

    def head(self, size: int = 65536) -> bytes:
        """The first ``size`` bytes (decompressed) without consuming them."""
        try:
            return self._peek(self._stream, size)
        except (EOFError, OSError, zlib.error):
            return b""

    def position(self) -> int:
        """Bytes of the file consumed so far (compressed bytes for gzip), for progress."""
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return 0

    def lines(self) -> Iterator[tuple[int, bytes, bool]]:
        """``(line number, line without its newline, ended with a newline)``.

        Raises:
            Truncated: when a gzip stream stops before its end.
            MatchInputError: when the file cannot be read.
        """
        number = 0
        try:
            for line in self._stream:
                number += 1
                if line.endswith(b"\n"):
                    yield number, line[:-2] if line.endswith(b"\r\n") else line[:-1], True
                else:
                    yield number, line, False
        except EOFError as exc:
            raise Truncated(f"the compressed stream ends early, after line {number}") from exc
        except (OSError, zlib.error) as exc:
            raise MatchInputError(f"cannot read: {exc}", source=self.name, line=number + 1) from exc

    def text(self) -> IO[str]:
        """The rest of the input as UTF-8 text, for readers that parse whole documents
        (reading raises :class:`UnicodeDecodeError`, or ``EOFError`` for a cut gzip)."""
        if self._text is None:
            self._text = io.TextIOWrapper(self._stream, encoding="utf-8")
        return self._text

    def close(self) -> None:
        if self._text is not None:
            # Closing the wrapper closes what it wraps; standard input must stay open.
            if self.path == "-":
                self._text.detach()
            else:
                self._text.close()
        if self._stream is not self._raw:
            self._stream.close()
        if self.path != "-":
            self._raw.close()

    def __enter__(self) -> InputFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def json_line(line: bytes) -> Any:
    """One JSON value from one line.

    Raises:
        ValueError: when the line is not UTF-8 JSON; the message says where.
    """
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 at byte {exc.start}") from exc
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at column {exc.colno}") from exc
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc


def epoch_us(seconds: float | int | str) -> int:
    """Epoch seconds (``1700000000.123456``) as microseconds.

    Raises:
        ValueError: when it is not a number.
    """
    if isinstance(seconds, str):
        whole, _, fraction = seconds.strip().partition(".")
        if not whole.lstrip("-").isdigit() or (fraction and not fraction.isdigit()):
            raise ValueError(f"{seconds!r} is not a number of seconds")
        return int(whole) * 1_000_000 + int((fraction + "000000")[:6] or 0)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise ValueError(f"{seconds!r} is not a number of seconds")
    return round(seconds * 1_000_000)


def stamp_us(value: Any) -> int:
    """A time in the usual log spellings as epoch microseconds: epoch seconds (number or
    text), RFC 3339 with ``Z`` or an offset (``2024-01-01T00:00:00.123456+0000``).

    Raises:
        ValueError: when it is none of these.
    """
    if not isinstance(value, str) or value.replace(".", "", 1).lstrip("-").isdigit():
        return epoch_us(value)
    try:
        return parse_timestamp_us(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a timestamp") from exc
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return (moment - _EPOCH) // timedelta(microseconds=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
