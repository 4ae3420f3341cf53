"""Advisories, KEV entries and assets to and from plain rows, for the hub's database.

The store keeps what ``kakehashi advisories import`` and ``kakehashi assets import`` read
so that ``kakehashi exposure`` can match later without the files. Advisories and KEV
entries are kept as JSON of their records (nested, rarely filtered); assets as columns
(a million rows, filtered by organisation and sector).

The JSON codec is generic over the frozen dataclasses of :mod:`~kakehashi.advisories.model`
(a field added to a record is stored without touching this module): enums by value,
dates in ISO form, tuples as lists, nested records as objects. A stored record whose
fields no longer exist is read without them; a missing field takes its default.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from kakehashi.advisories.kev import KevEntry
from kakehashi.advisories.model import Advisory, Asset, Criticality

__all__ = [
    "ASSET_COLUMNS",
    "AssetRow",
    "advisory_from_json",
    "advisory_to_json",
    "asset_from_row",
    "asset_to_row",
    "kev_from_json",
    "kev_to_json",
]

#: The asset columns the store keeps, in the order of :data:`AssetRow`.
ASSET_COLUMNS = (
    "organization",
    "site",
    "sector",
    "vendor",
    "product",
    "version",
    "cpe",
    "purl",
    "criticality",
    "ref",
)
AssetRow = tuple[str, str, str, str, str, str, str, str, int, str]

_Record = TypeVar("_Record")


def asset_to_row(asset: Asset) -> AssetRow:
    """The columns of :data:`ASSET_COLUMNS` for ``asset``."""
    return (
        asset.organization,
        asset.site,
        asset.sector,
        asset.vendor,
        asset.product,
        asset.version,
        asset.cpe,
        asset.purl,
        int(asset.criticality),
        asset.ref,
    )


def asset_from_row(row: typing.Sequence[Any]) -> Asset:
    """The :class:`Asset` of a stored row (columns as in :data:`ASSET_COLUMNS`)."""
    org, site, sector, vendor, product, version, cpe, purl, criticality, ref = row
    return Asset(
        organization=org,
        vendor=vendor,
        product=product,
        version=version,
        site=site,
        sector=sector,
        cpe=cpe,
        purl=purl,
        criticality=Criticality(int(criticality)),
        ref=ref,
    )


def advisory_to_json(advisory: Advisory) -> str:
    """Compact JSON of ``advisory`` (see the module docstring)."""
    return json.dumps(_encode(advisory), separators=(",", ":"), ensure_ascii=False)


def advisory_from_json(text: str) -> Advisory:
    """The :class:`Advisory` of :func:`advisory_to_json`'s output."""
    return _decode_record(Advisory, json.loads(text))


def kev_to_json(entry: KevEntry) -> str:
    """Compact JSON of one KEV entry."""
    return json.dumps(_encode(entry), separators=(",", ":"), ensure_ascii=False)


def kev_from_json(text: str) -> KevEntry:
    """The :class:`KevEntry` of :func:`kev_to_json`'s output."""
    return _decode_record(KevEntry, json.loads(text))


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for field in dataclasses.fields(value):
            item = getattr(value, field.name)
            if field.default is not dataclasses.MISSING and item == field.default:
                continue  # defaults are left out: most fields of most records are empty
            out[field.name] = _encode(item)
        return out
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    return value


_Decoder = Callable[[Any], Any]
_DECODERS: dict[Any, _Decoder | None] = {}


def _decode_record(cls: type[_Record], data: Any) -> _Record:
    decoder = _decoder(cls)
    assert decoder is not None
    record: _Record = decoder(data)
    return record


def _decoder(hint: Any) -> _Decoder | None:
    """The function that rebuilds a value of type ``hint`` from JSON, or ``None`` when the
    JSON value is already it. Built once per type: a catalog holds 250,000 advisories."""
    if hint in _DECODERS:
        return _DECODERS[hint]
    decoder = _build_decoder(hint)
    _DECODERS[hint] = decoder
    return decoder


def _build_decoder(hint: Any) -> _Decoder | None:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        inner_decoder = _decoder(inner)
        if inner_decoder is None:
            return None
        return lambda value: None if value is None else inner_decoder(value)
    if origin is tuple:
        item = _decoder(typing.get_args(hint)[0])
        if item is None:
            return tuple
        return lambda value: tuple(map(item, value))
    if not isinstance(hint, type):
        return None
    if dataclasses.is_dataclass(hint):
        return _record_decoder(hint)
    if issubclass(hint, enum.Enum):
        return hint
    if issubclass(hint, date):
        return date.fromisoformat
    return None


def _record_decoder(cls: type) -> _Decoder:
    hints = typing.get_type_hints(cls)
    names = frozenset(f.name for f in dataclasses.fields(cls))
    _DECODERS[cls] = None  # a record that nests itself would recurse here; none does
    converters = {name: _decoder(hints[name]) for name in names}
    plain = frozenset(name for name, c in converters.items() if c is None)

    def decode(data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError(f"a stored {cls.__name__} must be a JSON object")
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key in plain:
                kwargs[key] = value
            elif key in names:
                kwargs[key] = converters[key](value)  # type: ignore[misc]
        return cls(**kwargs)

    return decode
