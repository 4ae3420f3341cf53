"""TLP 1.0 and 2.0 marking definitions, and the recipients property extension.

Markings are recognised by their exact OASIS ids only. The hub never trusts a name: a
``marking-definition`` that *claims* to be TLP (``definition_type: tlp``, a ``TLP:`` name or
the TLP 2.0 extension) under any other id is refused, and so is a reference that differs
from an OASIS id only in case or spacing — a look-alike meant to slip past a filter.
TLP 1.0 WHITE is TLP 2.0 CLEAR.

Objects marked RED name who may receive them with Kakehashi's recipients property
extension (``RECIPIENTS_EXTENSION_ID``); the hub serves its extension-definition.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from kakehashi.errors import StixValidationError

__all__ = [
    "RECIPIENTS_EXTENSION_ID",
    "TLP_2_EXTENSION_ID",
    "TLP_2_MARKING_IDS",
    "TLP_IDS",
    "Tlp",
    "TlpMarks",
    "claims_tlp",
    "definition_objects",
    "is_hub_definition",
    "is_tlp_definition",
    "read_markings",
]


class Tlp(IntEnum):
    """TLP levels in increasing order of restriction (the rank is what SQL compares)."""

    CLEAR = 0
    GREEN = 1
    AMBER = 2
    AMBER_STRICT = 3
    RED = 4

    @property
    def label(self) -> str:
        return "amber+strict" if self is Tlp.AMBER_STRICT else self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Tlp:
        """``"clear"``, ``"white"``, ``"green"``, ``"amber"``, ``"amber+strict"``, ``"red"``."""
        key = text.strip().lower().removeprefix("tlp:")
        if key == "white":
            return cls.CLEAR
        for level in cls:
            if level.label == key:
                return level
        raise ValueError(
            f"{text!r} is not a TLP level (clear, green, amber, amber+strict, red; white = clear)"
        )


TLP_2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
RECIPIENTS_EXTENSION_ID = "extension-definition--9067863b-bbbc-4e1b-bbe4-76f6ecec33c2"

_TLP_2 = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": Tlp.CLEAR,
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": Tlp.GREEN,
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": Tlp.AMBER,
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": Tlp.AMBER_STRICT,
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": Tlp.RED,
}
_TLP_1 = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": (Tlp.CLEAR, "white"),
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": (Tlp.GREEN, "green"),
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": (Tlp.AMBER, "amber"),
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": (Tlp.RED, "red"),
}
TLP_IDS: dict[str, Tlp] = {**_TLP_2, **{k: v[0] for k, v in _TLP_1.items()}}
#: The TLP 2.0 marking-definition id of each level (what Kakehashi writes itself).
TLP_2_MARKING_IDS: dict[Tlp, str] = {level: marking for marking, level in _TLP_2.items()}
# Lower-cased, space-free forms of the official ids, to spot look-alikes.
_NORMALISED = {k.lower(): k for k in TLP_IDS}


def _tlp2_object(marking_id: str, level: Tlp) -> dict[str, Any]:
    # As published by OASIS (cti-stix-common-objects, TLP 2.0 extension examples).
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": marking_id,
        "created": "2022-10-01T00:00:00.000Z",
        "name": f"TLP:{level.label.upper()}",
        "extensions": {
            TLP_2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": level.label}
        },
    }


def _tlp1_object(marking_id: str, name: str) -> dict[str, Any]:
    # As predefined by STIX 2.1 section 7.2.1.4.
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": marking_id,
        "created": "2017-01-20T00:00:00.000Z",
        "definition_type": "tlp",
        "name": f"TLP:{name.upper()}",
        "definition": {"tlp": name},
    }


RECIPIENTS_EXTENSION: dict[str, Any] = {
    "type": "extension-definition",
    "spec_version": "2.1",
    "id": RECIPIENTS_EXTENSION_ID,
    "created": "2026-11-28T00:00:00.000Z",
    "modified": "2026-11-28T00:00:00.000Z",
    "created_by_ref": "identity--7c5b1b5e-2d7f-4c3a-9a57-6b0f1e3c2a10",
    "name": "Kakehashi TLP:RED recipients",
    "description": (
        "Names the organisations (by STIX identity id) that may receive an object marked"
        " TLP:RED on a Kakehashi hub, beside the author's organisation."
    ),
    "schema": json.dumps(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "extension_type": {"const": "property-extension"},
                "recipients": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": "string", "pattern": "^identity--[0-9a-f-]{36}$"},
                },
            },
            "required": ["extension_type", "recipients"],
        },
        separators=(",", ":"),
    ),
    "version": "1.0.0",
    "extension_types": ["property-extension"],
}


def definition_objects(marking_ids: set[str], *, recipients: bool) -> list[dict[str, Any]]:
    """The OASIS definitions of the TLP markings referenced, and the recipients extension
    definition when it is used: what a collection must also serve for them to resolve."""
    objects: list[dict[str, Any]] = []
    for marking_id in sorted(marking_ids):
        if marking_id in _TLP_2:
            objects.append(_tlp2_object(marking_id, _TLP_2[marking_id]))
        elif marking_id in _TLP_1:
            objects.append(_tlp1_object(marking_id, _TLP_1[marking_id][1]))
    if recipients:
        objects.append(RECIPIENTS_EXTENSION)
    return objects


def is_tlp_definition(object_id: str) -> bool:
    """Whether ``object_id`` is one of the OASIS TLP marking definitions."""
    return object_id in TLP_IDS


def is_hub_definition(object_id: str) -> bool:
    """Whether the hub keeps ``object_id`` itself: a TLP definition or the recipients
    extension definition (one copy per collection, whoever posts it)."""
    return object_id in TLP_IDS or object_id == RECIPIENTS_EXTENSION_ID


@dataclass(frozen=True, slots=True)
class TlpMarks:
    """What an object's markings say for sharing.

    Attributes:
        tlp: the TLP level that governs the whole object (the strictest of its object and
            granular TLP markings), or ``None`` when it carries none (the hub default applies).
        tlp_refs: the official TLP marking ids it references.
        recipients: identity ids named by the recipients extension.
    """

    tlp: Tlp | None
    tlp_refs: frozenset[str]
    recipients: tuple[str, ...]


def claims_tlp(obj: Mapping[str, Any]) -> bool:
    """Whether a marking-definition presents itself as TLP (by type, name or extension)."""
    name = obj.get("name")
    extensions = obj.get("extensions")
    return (
        obj.get("definition_type") == "tlp"
        or (isinstance(name, str) and name.strip().upper().startswith("TLP"))
        or (isinstance(extensions, dict) and TLP_2_EXTENSION_ID in extensions)
    )


def _fail(object_id: str, prop: str, reason: str) -> StixValidationError:
    return StixValidationError(f"{object_id}: {reason}", object_id=object_id, prop=prop)


def _check_ref(object_id: str, prop: str, ref: object) -> Tlp | None:
    if not isinstance(ref, str):
        return None
    if ref in TLP_IDS:
        return TLP_IDS[ref]
    lookalike = _NORMALISED.get(ref.strip().lower().replace(" ", ""))
    if lookalike is not None:
        raise _fail(
            object_id,
            prop,
            f"{ref!r} looks like the TLP marking {lookalike!r} but is not it; TLP markings"
            " are recognised by their exact OASIS ids",
        )
    return None


def read_markings(obj: Mapping[str, Any], object_id: str) -> TlpMarks:
    """Read the TLP level and the RED recipients of a validated object.

    Raises:
        StixValidationError: for two different TLP markings on the object, a look-alike
            TLP id, a marking-definition that claims TLP under an unofficial id, or a
            malformed recipients extension.
    """
    if obj.get("type") == "marking-definition" and claims_tlp(obj) and object_id not in TLP_IDS:
        raise _fail(
            object_id,
            "id",
            "this marking-definition claims to be TLP but is not an OASIS TLP definition;"
            " reference the official TLP marking ids instead",
        )
    levels: dict[str, Tlp] = {}
    for ref in obj.get("object_marking_refs", ()):
        level = _check_ref(object_id, "object_marking_refs", ref)
        if level is not None:
            levels[ref] = level
    if len(set(levels.values())) > 1:
        names = ", ".join(sorted(f"TLP:{lvl.label.upper()}" for lvl in set(levels.values())))
        raise _fail(
            object_id,
            "object_marking_refs",
            f"carries more than one TLP marking ({names}); an object has exactly one TLP level",
        )
    tlp = next(iter(levels.values()), None)
    refs = set(levels)
    for granular in obj.get("granular_markings", ()):
        ref = granular.get("marking_ref") if isinstance(granular, dict) else None
        level = _check_ref(object_id, "granular_markings", ref)
        if level is not None and isinstance(ref, str):
            # The hub shares whole objects: the strictest marking on any part governs.
            refs.add(ref)
            tlp = level if tlp is None else max(tlp, level)
    recipients: tuple[str, ...] = ()
    extensions = obj.get("extensions")
    if isinstance(extensions, dict) and RECIPIENTS_EXTENSION_ID in extensions:
        recipients = _read_recipients(object_id, extensions[RECIPIENTS_EXTENSION_ID])
    return TlpMarks(tlp=tlp, tlp_refs=frozenset(refs), recipients=recipients)


def _read_recipients(object_id: str, extension: object) -> tuple[str, ...]:
    prop = f"extensions.{RECIPIENTS_EXTENSION_ID}"
    if not isinstance(extension, dict) or extension.get("extension_type") != "property-extension":
        raise _fail(object_id, prop, "the recipients extension must be a property-extension")
    recipients = extension.get("recipients")
    if (
        not isinstance(recipients, list)
        or not recipients
        or not all(isinstance(r, str) and r.startswith("identity--") for r in recipients)
    ):
        raise _fail(object_id, prop, "'recipients' must be a non-empty list of identity ids")
    return tuple(dict.fromkeys(recipients))
