"""Parsing TAXII 2.1 URL parameters into an :class:`ObjectQuery`, and ``next`` tokens.

``next`` tokens are stateless: they carry the ``date_added`` position of the last item
served, with a checksum so that garbage is refused with a 400. Filters are re-applied on
every page, so a token never widens what a request may see, works after a restart and on
any hub process, and never expires.
"""

from __future__ import annotations

import base64
import binascii
import struct
import zlib
from collections.abc import Mapping

from kakehashi.errors import InvalidRequest
from kakehashi.stix.timestamps import parse_timestamp_us
from kakehashi.store import ObjectQuery, VersionSelector

__all__ = ["decode_next", "encode_next", "parse_query"]

_TOKEN = struct.Struct(">BqI")  # format version, date_added µs, crc32 of the first two
_TOKEN_VERSION = 1


def encode_next(date_added_us: int) -> str:
    head = struct.pack(">Bq", _TOKEN_VERSION, date_added_us)
    packed = _TOKEN.pack(_TOKEN_VERSION, date_added_us, zlib.crc32(head))
    return base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii")


def decode_next(token: str) -> int:
    try:
        packed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        version, position, crc = _TOKEN.unpack(packed)
    except (binascii.Error, struct.error, ValueError) as exc:
        raise InvalidRequest("is not a next token this hub issued", parameter="next") from exc
    if version != _TOKEN_VERSION or crc != zlib.crc32(packed[:9]):
        raise InvalidRequest("is not a next token this hub issued", parameter="next")
    return int(position)


def _single(params: Mapping[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise InvalidRequest("may be given only once", parameter=name)
    return values[0]


def _list(params: Mapping[str, list[str]], name: str) -> tuple[str, ...]:
    value = _single(params, name)
    if value is None:
        return ()
    items = tuple(v.strip() for v in value.split(","))
    if any(not v for v in items):
        raise InvalidRequest("has an empty value", parameter=name)
    if len(set(items)) != len(items):
        raise InvalidRequest("repeats a value", parameter=name)
    return items


def _versions(params: Mapping[str, list[str]]) -> VersionSelector:
    values = _list(params, "match[version]")
    if not values:
        return VersionSelector.latest()
    if "all" in values:
        if len(values) > 1:
            raise InvalidRequest("'all' cannot be combined", parameter="match[version]")
        return VersionSelector.every()
    timestamps: list[int] = []
    for value in values:
        if value in {"first", "last"}:
            continue
        try:
            timestamps.append(parse_timestamp_us(value))
        except ValueError as exc:
            raise InvalidRequest(
                f"{value!r} is not first, last, all or a STIX timestamp",
                parameter="match[version]",
            ) from exc
    return VersionSelector(
        last="last" in values, first="first" in values, timestamps=tuple(timestamps)
    )


def parse_query(params: Mapping[str, list[str]], *, max_page_size: int) -> ObjectQuery:
    """Build the query of one request.

    Parameters an endpoint does not use, and unknown ``match[...]`` fields, are ignored
    (TAXII 2.1 section 3.4 allows it); a malformed value of a known one is refused.

    Args:
        params: query parameters, each with all its values.
        max_page_size: the server's page cap; also the default limit.

    Raises:
        InvalidRequest: naming the parameter at fault.
    """
    limit = max_page_size
    limit_text = _single(params, "limit")
    if limit_text is not None:
        if not limit_text.isdigit() or int(limit_text) <= 0:
            raise InvalidRequest("must be a positive integer", parameter="limit")
        limit = min(int(limit_text), max_page_size)
    after_us: int | None = None
    added_after = _single(params, "added_after")
    if added_after is not None:
        try:
            after_us = parse_timestamp_us(added_after)
        except ValueError as exc:
            raise InvalidRequest(str(exc), parameter="added_after") from exc
    next_token = _single(params, "next")
    if next_token:
        position = decode_next(next_token)
        after_us = position if after_us is None else max(after_us, position)
    return ObjectQuery(
        limit=limit,
        ids=_list(params, "match[id]"),
        types=_list(params, "match[type]"),
        versions=_versions(params),
        spec_versions=_list(params, "match[spec_version]"),
        after_us=after_us,
    )
