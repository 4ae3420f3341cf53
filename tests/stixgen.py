"""Deterministic STIX 2.1 objects for tests (plain dicts, valid per STIX 2.1)."""

from __future__ import annotations

import uuid
from typing import Any


def uid(kind: str, n: int) -> str:
    return f"{kind}--{uuid.UUID(int=(0x5EED << 96) | n, version=4)}"


def ts(second: int, *, millis: int = 0) -> str:
    minute, sec = divmod(second, 60)
    hour, minute = divmod(minute, 60)
    return f"2024-01-01T{hour:02d}:{minute:02d}:{sec:02d}.{millis:03d}Z"


def indicator(n: int, *, version: int = 0, **extra: Any) -> dict[str, Any]:
    """Indicator number ``n``; ``version`` k has modified = created + k seconds."""
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": uid("indicator", n),
        "created": ts(0),
        "modified": ts(version),
        "name": f"Indicator {n} v{version}",
        "pattern": f"[ipv4-addr:value = '198.51.100.{n % 250}']",
        "pattern_type": "stix",
        "valid_from": ts(0),
    }
    obj.update(extra)
    return obj


def malware(n: int) -> dict[str, Any]:
    return {
        "type": "malware",
        "spec_version": "2.1",
        "id": uid("malware", n),
        "created": ts(0),
        "modified": ts(0),
        "name": f"Malware {n}",
        "is_family": True,
    }


def ipv4(n: int) -> dict[str, Any]:
    return {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": uid("ipv4-addr", n),
        "value": f"203.0.113.{n % 250}",
    }
