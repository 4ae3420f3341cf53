"""The STIX 2.1 rule table the validator walks: property checks, constraints, types.

Declarative, as stix2's own ``_properties`` are: every known type has a :class:`Rule`
listing its property checks, its required properties and its cross-property constraints.
:mod:`kakehashi.stix.validate` runs them in one pass over an object.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

__all__ = [
    "ACCEPT",
    "ANY_REF",
    "ANY_REFS",
    "CUSTOM_DOMAIN",
    "CUSTOM_OBSERVABLE",
    "CUSTOM_PROPERTY_RE",
    "RULES",
    "TYPE_RE",
    "UUID_ANY_CASE_RE",
    "UUID_RE",
    "Check",
    "Kind",
    "describe",
    "shorten",
    "timestamp_check",
]

#: A property check: ``None`` when the value is fine, else what is wrong (a phrase that
#: follows the quoted property name, e.g. ``"must be a string, not null"``).
Check = Callable[[Any], str | None]
#: A cross-property rule: ``None``, or ``(property at fault, full sentence)``. It sees the
#: object and the timestamps already parsed (property name -> epoch microseconds).
Constraint = Callable[[Mapping[str, Any], Mapping[str, int]], tuple[str, str] | None]

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
TYPE_RE = re.compile(r"[a-z0-9][a-z0-9-]{1,248}[a-z0-9]")  # 3..250 chars, fullmatch
UUID_RE = re.compile(_UUID)
UUID_ANY_CASE_RE = re.compile(_UUID, re.IGNORECASE)
# Lazy type part: a greedy one swallows the UUID's hex and hyphens, then backtracks (2.5x slower).
_IDENTIFIER_RE = re.compile(rf"([a-z0-9][a-z0-9-]{{1,248}}?[a-z0-9])--{_UUID}")
CUSTOM_PROPERTY_RE = re.compile(r"[a-z0-9_]{3,250}")
_EXTENSION_NAME_RE = re.compile(rf"extension-definition--{_UUID}|[A-Za-z0-9_-]{{1,246}}-ext")
_BASE64_RE = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")

_SRO_TYPES = frozenset({"relationship", "sighting"})
# fmt: off
_SCO_TYPES = frozenset({
    "artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message",
    "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process",
    "software", "url", "user-account", "windows-registry-key", "x509-certificate",
})
# fmt: on
_META_TYPES = frozenset({"marking-definition", "language-content", "extension-definition"})


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


def _string(value: object) -> str | None:
    return None if type(value) is str else f"must be a string, not {describe(value)}"


def _nonempty_string(value: object) -> str | None:
    if type(value) is str and value:
        return None
    return f"must be a non-empty string, not {describe(value)}"


def _boolean(value: object) -> str | None:
    if value is True or value is False:
        return None
    return f"must be a boolean (true or false), not {describe(value)}"


def _object(value: object) -> str | None:
    return None if type(value) is dict else f"must be a JSON object, not {describe(value)}"


def _integer(low: int | None = None, high: int | None = None) -> Check:
    def check(value: object) -> str | None:
        if type(value) is not int:
            return f"must be an integer, not {describe(value)}"
        if (low is not None and value < low) or (high is not None and value > high):
            return f"must be {_range(low, high)}, not {value}"
        return None

    return check


def _number(low: float | None = None, high: float | None = None) -> Check:
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


def _enum(*allowed: str) -> Check:
    values = frozenset(allowed)
    listed = ", ".join(repr(v) for v in allowed)

    def check(value: object) -> str | None:
        if type(value) is str and value in values:
            return None
        return f"must be one of {listed}, not {describe(value)}"

    return check


def _list_of(item: Check) -> Check:
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


def _ref(allowed: Iterable[str] = (), denied: Iterable[str] = (), what: str = "") -> Check:
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


def _refs(allowed: Iterable[str] = (), denied: Iterable[str] = (), what: str = "") -> Check:
    return _list_of(_ref(allowed, denied, what))


def _hashes(value: object) -> str | None:
    if type(value) is not dict or not value:
        return f"must be a non-empty JSON object of algorithm -> digest, not {describe(value)}"
    for algorithm, digest in value.items():
        if type(digest) is not str or not digest:
            return f"entry {algorithm!r} must be a non-empty string, not {describe(digest)}"
    return None


def _base64(value: object) -> str | None:
    if type(value) is str and _BASE64_RE.fullmatch(value):
        return None
    return f"must be base64 text, not {describe(value)}"


def _fields(required: Mapping[str, Check], optional: Mapping[str, Check]) -> Check:
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


def _granular_marking(value: object) -> str | None:
    reason = _GRANULAR_FIELDS(value)
    if reason is not None:
        return reason
    assert type(value) is dict  # _GRANULAR_FIELDS checked it
    if ("marking_ref" in value) == ("lang" in value):
        return "needs exactly one of 'marking_ref' and 'lang'"
    return None


def _extensions(value: object) -> str | None:
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


_GRANULAR_FIELDS = _fields(
    {"selectors": _list_of(_nonempty_string)},
    {"marking_ref": _ref({"marking-definition"}, what="a marking-definition"), "lang": _string},
)
_STRINGS = _list_of(_nonempty_string)
_KILL_CHAIN_PHASES = _list_of(
    _fields({"kill_chain_name": _nonempty_string, "phase_name": _nonempty_string}, {})
)
_EXTERNAL_REFERENCES = _list_of(
    _fields(
        {"source_name": _nonempty_string},
        {"description": _string, "url": _string, "external_id": _string, "hashes": _hashes},
    )
)
ANY_REF = _ref()
ANY_REFS = _refs()
_NOT_RELATABLE = _SRO_TYPES | _META_TYPES | {"bundle"}

#: Properties every object may carry (STIX 2.1 sections 3.2 and 6.1), checked where present.
_COMMON: dict[str, Check] = {
    "type": _accept,
    "id": _accept,
    "spec_version": _accept,
    "created_by_ref": _ref({"identity"}, what="an identity"),
    "created": timestamp_check,
    "modified": timestamp_check,
    "revoked": _boolean,
    "labels": _STRINGS,
    "confidence": _integer(0, 100),
    "lang": _string,
    "external_references": _EXTERNAL_REFERENCES,
    "object_marking_refs": _refs({"marking-definition"}, what="a marking-definition"),
    "granular_markings": _list_of(_granular_marking),
    "extensions": _extensions,
    "defanged": _boolean,
}


# --- cross-property constraints ------------------------------------------------------------


def _ordered(first: str, last: str, *, strict: bool = False) -> Constraint:
    """``last`` must not be earlier than ``first`` (or must be later, when ``strict``)."""
    relation = "later than" if strict else "later than or equal to"

    def check(obj: Mapping[str, Any], stamps: Mapping[str, int]) -> tuple[str, str] | None:
        if first in stamps and last in stamps:
            start, end = stamps[first], stamps[last]
            if end < start or (strict and end == start):
                return last, f"{last!r} must be {relation} {first!r}"
        return None

    return check


def _any_of(*options: str) -> Constraint:
    """At least one of ``options`` (``"a+b"`` means both a and b) must be present."""
    groups = [tuple(option.split("+")) for option in options]
    names = [" and ".join(repr(p) for p in group) for group in groups]
    listed = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]

    def check(obj: Mapping[str, Any], stamps: Mapping[str, int]) -> tuple[str, str] | None:
        for group in groups:
            if all(p in obj for p in group):
                return None
        return groups[0][0], f"needs {listed}"

    return check


def _own_property(options: Iterable[str]) -> Constraint:
    """At least one of the type's own properties must be present (no property at fault)."""
    names = sorted(options)
    listed = ", ".join(repr(name) for name in names)

    def check(obj: Mapping[str, Any], stamps: Mapping[str, int]) -> tuple[str, str] | None:
        if any(name in obj for name in names):
            return None
        return "", f"needs at least one property of its own: one of {listed}"

    return check


def _exclusive(first: str, second: str) -> Constraint:
    def check(obj: Mapping[str, Any], stamps: Mapping[str, int]) -> tuple[str, str] | None:
        if first in obj and second in obj:
            return second, f"{second!r} must not be present together with {first!r}"
        return None

    return check


def _requires(prop: str, needed: str) -> Constraint:
    def check(obj: Mapping[str, Any], stamps: Mapping[str, int]) -> tuple[str, str] | None:
        if prop in obj and needed not in obj:
            return needed, f"{needed!r} is required when {prop!r} is present"
        return None

    return check


def _when_flag(flag: str, state: bool, prop: str, *, required: bool) -> Constraint:
    """``prop`` is required (or forbidden) when the boolean ``flag`` is ``state``."""
    verb = "is required" if required else "must not be present"

    def check(obj: Mapping[str, Any], stamps: Mapping[str, int]) -> tuple[str, str] | None:
        if obj.get(flag) is state and (prop in obj) is not required:
            return prop, f"{prop!r} {verb} when {flag!r} is {str(state).lower()}"
        return None

    return check


def _marking_definition(
    obj: Mapping[str, Any], stamps: Mapping[str, int]
) -> tuple[str, str] | None:
    """STIX 2.1 section 7.2.1: ``definition_type`` + ``definition``, unless ``extensions``."""
    has_type, has_definition = "definition_type" in obj, "definition" in obj
    if has_type != has_definition:
        missing = "definition" if has_type else "definition_type"
        return missing, "'definition_type' and 'definition' must be present together"
    if not has_type:
        if "extensions" in obj:
            return None  # a marking defined by an extension, e.g. TLP 2.0
        return "definition", "needs 'definition_type' and 'definition', or 'extensions'"
    member = {"tlp": "tlp", "statement": "statement"}.get(obj["definition_type"])
    definition = obj["definition"]
    if member is not None and _nonempty_string(definition.get(member)) is not None:
        kind = obj["definition_type"]
        return "definition", f"a {kind!r} definition needs a non-empty string {member!r}"
    return None


# --- the rule table ----------------------------------------------------------------------


class Kind(Enum):
    DOMAIN = "domain"  # SDOs, SROs, language-content, extension-definition
    MARKING = "marking"  # marking-definition: created, no modified
    OBSERVABLE = "observable"  # SCOs: id only


_BASE_REQUIRED = {
    Kind.DOMAIN: ("created", "modified"),
    Kind.MARKING: ("created",),
    Kind.OBSERVABLE: (),
}


@dataclass(frozen=True, slots=True)
class _Rule:
    kind: Kind
    props: Mapping[str, Check]
    required: tuple[str, ...]
    constraints: tuple[Constraint, ...]


def _rule(
    kind: Kind,
    props: Mapping[str, Check] | None = None,
    required: str = "",
    constraints: tuple[Constraint, ...] = (),
    *,
    own_property: str = "",
) -> _Rule:
    """Build a type's rule from its own property checks (the common ones are added).

    ``required`` names required properties, space-separated. ``own_property="props"``
    means at least one of the type's own properties must be present; ``"props+ext"``
    lets ``extensions`` count too.
    """
    own = dict(props or {})
    if own_property:
        options = [*own, "extensions"] if own_property == "props+ext" else list(own)
        constraints += (_own_property(options),)
    required_props = _BASE_REQUIRED[kind] + tuple(required.split())
    return _Rule(kind, {**_COMMON, **own}, required_props, constraints)


def _all(check: Check, names: str) -> dict[str, Check]:
    """``{name: check}`` for each space-separated name: one line per kind of property."""
    return dict.fromkeys(names.split(), check)


_D, _M, _O = Kind.DOMAIN, Kind.MARKING, Kind.OBSERVABLE
_S, _T, _B, _TEXT, _KCP = _string, timestamp_check, _boolean, _nonempty_string, _KILL_CHAIN_PHASES
_SEEN = _all(_T, "first_seen last_seen")
_SEEN_ORDER = (_ordered("first_seen", "last_seen"),)
_COUNT = _integer(0)
_ADDRESS_REF = _ref({"ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"})
_RELATABLE_REF = _ref(denied=_NOT_RELATABLE, what="an SDO or SCO")
_EXTENSION_TYPES = _enum(
    "new-sdo", "new-sco", "new-sro", "property-extension", "toplevel-property-extension"
)
_OPINIONS = _enum("strongly-disagree", "disagree", "neutral", "agree", "strongly-agree")

# One entry per type: property checks grouped by kind, required properties, constraints.
# fmt: off
RULES: dict[str, _Rule] = {
    # SDOs (STIX 2.1 section 4)
    "attack-pattern": _rule(_D, _all(_S, "name description") | _all(_STRINGS, "aliases")
                            | {"kill_chain_phases": _KCP}, "name"),
    "campaign": _rule(_D, _all(_S, "name description objective") | _all(_STRINGS, "aliases")
                      | _SEEN, "name", _SEEN_ORDER),
    "course-of-action": _rule(_D, _all(_S, "name description"), "name"),
    "grouping": _rule(_D, _all(_S, "name description context") | {"object_refs": ANY_REFS},
                      "context object_refs"),
    "identity": _rule(_D, _all(_S, "name description identity_class contact_information")
                      | _all(_STRINGS, "roles sectors"), "name"),
    "incident": _rule(_D, _all(_S, "name description") | {"kill_chain_phases": _KCP}, "name"),
    "indicator": _rule(_D, _all(_S, "name description pattern_type pattern_version")
                       | _all(_T, "valid_from valid_until") | _all(_STRINGS, "indicator_types")
                       | {"pattern": _TEXT, "kill_chain_phases": _KCP},
                       "pattern pattern_type valid_from",
                       (_ordered("valid_from", "valid_until", strict=True),)),
    "infrastructure": _rule(_D, _all(_S, "name description") | _SEEN
                            | _all(_STRINGS, "infrastructure_types aliases")
                            | {"kill_chain_phases": _KCP}, "name", _SEEN_ORDER),
    "intrusion-set": _rule(_D, _all(_S, "name description resource_level primary_motivation")
                           | _all(_STRINGS, "aliases goals secondary_motivations") | _SEEN,
                           "name", _SEEN_ORDER),
    "location": _rule(_D, _all(_S, "name description region country administrative_area city "
                                   "street_address postal_code")
                      | {"latitude": _number(-90, 90), "longitude": _number(-180, 180),
                         "precision": _number(0)}, "",
                      (_requires("latitude", "longitude"), _requires("longitude", "latitude"),
                       _requires("precision", "latitude"),
                       _any_of("region", "country", "latitude+longitude"))),
    "malware": _rule(_D, _all(_S, "name description") | _SEEN | {"is_family": _B}
                     | _all(_STRINGS, "malware_types aliases architecture_execution_envs "
                                      "implementation_languages capabilities")
                     | {"kill_chain_phases": _KCP, "operating_system_refs": _refs({"software"}),
                        "sample_refs": _refs({"artifact", "file"})},
                     "is_family",
                     (*_SEEN_ORDER, _when_flag("is_family", True, "name", required=True))),
    "malware-analysis": _rule(_D, _all(_S, "version configuration_version analysis_engine_version "
                                           "analysis_definition_version result_name result")
                              | _all(_T, "submitted analysis_started analysis_ended")
                              | _all(_ref({"software"}), "host_vm_ref operating_system_ref")
                              | {"product": _TEXT, "modules": _STRINGS, "sample_ref": ANY_REF,
                                 "installed_software_refs": _refs({"software"}),
                                 "analysis_sco_refs": _refs(_SCO_TYPES, what="an SCO")},
                              "product", (_any_of("result", "analysis_sco_refs"),)),
    "note": _rule(_D, _all(_S, "abstract content") | _all(_STRINGS, "authors")
                  | {"object_refs": ANY_REFS}, "content object_refs"),
    "observed-data": _rule(_D, _all(_T, "first_observed last_observed")
                           | {"number_observed": _integer(1, 999_999_999), "objects": _object,
                              "object_refs": ANY_REFS},
                           "first_observed last_observed number_observed",
                           (_ordered("first_observed", "last_observed"),
                            _any_of("object_refs", "objects"),
                            _exclusive("object_refs", "objects"))),
    "opinion": _rule(_D, _all(_S, "explanation") | _all(_STRINGS, "authors")
                     | {"opinion": _OPINIONS, "object_refs": ANY_REFS}, "opinion object_refs"),
    "report": _rule(_D, _all(_S, "name description") | _all(_STRINGS, "report_types")
                    | {"published": _T, "object_refs": ANY_REFS}, "name published object_refs"),
    "threat-actor": _rule(_D, _all(_S, "name description sophistication resource_level "
                                       "primary_motivation") | _SEEN
                          | _all(_STRINGS, "threat_actor_types aliases roles goals "
                                           "secondary_motivations personal_motivations"),
                          "name", _SEEN_ORDER),
    "tool": _rule(_D, _all(_S, "name description tool_version")
                  | _all(_STRINGS, "tool_types aliases") | {"kill_chain_phases": _KCP}, "name"),
    "vulnerability": _rule(_D, _all(_S, "name description"), "name"),
    # SROs (section 5)
    "relationship": _rule(_D, _all(_S, "description") | _all(_T, "start_time stop_time")
                          | _all(_RELATABLE_REF, "source_ref target_ref")
                          | {"relationship_type": _TEXT},
                          "relationship_type source_ref target_ref",
                          (_ordered("start_time", "stop_time", strict=True),)),
    "sighting": _rule(_D, _all(_S, "description") | _SEEN
                      | {"count": _integer(0, 999_999_999), "summary": _B,
                         "sighting_of_ref": _ref(denied=_NOT_RELATABLE | _SCO_TYPES, what="an SDO"),
                         "observed_data_refs": _refs({"observed-data"}),
                         "where_sighted_refs": _refs({"identity", "location"})},
                      "sighting_of_ref", _SEEN_ORDER),
    # meta objects (section 7)
    "language-content": _rule(_D, {"object_ref": ANY_REF, "object_modified": _T,
                                   "contents": _object}, "object_ref contents"),
    "extension-definition": _rule(_D, _all(_S, "name description") | _all(_TEXT, "schema version")
                                  | {"extension_types": _list_of(_EXTENSION_TYPES),
                                     "extension_properties": _STRINGS},
                                  "created_by_ref name schema version extension_types"),
    "marking-definition": _rule(_M, {"definition_type": _TEXT, "name": _S, "definition": _object},
                                "", (_marking_definition,)),
    # SCOs (section 6)
    "artifact": _rule(_O, _all(_S, "mime_type url encryption_algorithm decryption_key")
                      | {"payload_bin": _base64, "hashes": _hashes}, "",
                      (_any_of("payload_bin", "url"), _exclusive("payload_bin", "url"),
                       _requires("url", "hashes"))),
    "autonomous-system": _rule(_O, _all(_S, "name rir") | {"number": _COUNT}, "number"),
    "directory": _rule(_O, _all(_S, "path_enc") | _all(_T, "ctime mtime atime")
                       | {"path": _TEXT, "contains_refs": _refs({"file", "directory"})}, "path"),
    "domain-name": _rule(_O, {"value": _TEXT, "resolves_to_refs": _refs({"ipv4-addr", "ipv6-addr",
                                                                         "domain-name"})}, "value"),
    "email-addr": _rule(_O, {"value": _TEXT, "display_name": _S,
                             "belongs_to_ref": _ref({"user-account"})}, "value"),
    "email-message": _rule(_O, _all(_S, "content_type message_id subject body")
                           | _all(_ref({"email-addr"}), "from_ref sender_ref")
                           | _all(_refs({"email-addr"}), "to_refs cc_refs bcc_refs")
                           | {"is_multipart": _B, "date": _T, "received_lines": _STRINGS,
                              "additional_header_fields": _object,
                              "body_multipart": _list_of(_object),
                              "raw_email_ref": _ref({"artifact"})},
                           "is_multipart",
                           (_when_flag("is_multipart", True, "body", required=False),
                            _when_flag("is_multipart", False, "body_multipart", required=False))),
    "file": _rule(_O, _all(_S, "name name_enc magic_number_hex mime_type")
                  | _all(_T, "ctime mtime atime")
                  | {"hashes": _hashes, "size": _COUNT, "contains_refs": ANY_REFS,
                     "parent_directory_ref": _ref({"directory"}),
                     "content_ref": _ref({"artifact"})}, "", (_any_of("hashes", "name"),)),
    "ipv4-addr": _rule(_O, {"value": _TEXT, "resolves_to_refs": _refs({"mac-addr"}),
                            "belongs_to_refs": _refs({"autonomous-system"})}, "value"),
    "ipv6-addr": _rule(_O, {"value": _TEXT, "resolves_to_refs": _refs({"mac-addr"}),
                            "belongs_to_refs": _refs({"autonomous-system"})}, "value"),
    "mac-addr": _rule(_O, {"value": _TEXT}, "value"),
    "mutex": _rule(_O, {"name": _TEXT}, "name"),
    "network-traffic": _rule(_O, _all(_T, "start end") | _all(_ADDRESS_REF, "src_ref dst_ref")
                             | _all(_integer(0, 65535), "src_port dst_port")
                             | _all(_COUNT, "src_byte_count dst_byte_count src_packets dst_packets")
                             | _all(_ref({"artifact"}), "src_payload_ref dst_payload_ref")
                             | {"is_active": _B, "protocols": _STRINGS, "ipfix": _object,
                                "encapsulates_refs": _refs({"network-traffic"}),
                                "encapsulated_by_ref": _ref({"network-traffic"})},
                             "protocols",
                             (_any_of("src_ref", "dst_ref"), _ordered("start", "end"),
                              _when_flag("is_active", True, "end", required=False))),
    "process": _rule(_O, _all(_S, "cwd command_line")
                     | {"is_hidden": _B, "pid": _integer(), "created_time": _T,
                        "environment_variables": _object,
                        "opened_connection_refs": _refs({"network-traffic"}),
                        "creator_user_ref": _ref({"user-account"}), "image_ref": _ref({"file"}),
                        "parent_ref": _ref({"process"}), "child_refs": _refs({"process"})},
                     own_property="props+ext"),
    "software": _rule(_O, _all(_S, "cpe swid vendor version")
                      | {"name": _TEXT, "languages": _STRINGS}, "name"),
    "url": _rule(_O, {"value": _TEXT}, "value"),
    "user-account": _rule(_O, _all(_S, "user_id credential account_login account_type "
                                       "display_name")
                          | _all(_B, "is_service_account is_privileged can_escalate_privs "
                                     "is_disabled")
                          | _all(_T, "account_created account_expires credential_last_changed "
                                     "account_first_login account_last_login"),
                          own_property="props+ext"),
    "windows-registry-key": _rule(_O, {"key": _S, "values": _list_of(_object), "modified_time": _T,
                                       "creator_user_ref": _ref({"user-account"}),
                                       "number_of_subkeys": _COUNT}, own_property="props"),
    "x509-certificate": _rule(_O, _all(_S, "version serial_number signature_algorithm issuer "
                                           "subject subject_public_key_algorithm "
                                           "subject_public_key_modulus")
                              | _all(_T, "validity_not_before validity_not_after")
                              | {"is_self_signed": _B, "hashes": _hashes,
                                 "subject_public_key_exponent": _integer(),
                                 "x509_v3_extensions": _object}, own_property="props"),
}
# fmt: on
# Custom types (section 11.2): versioned like an SDO when they carry created/modified,
# else identified like an SCO.
CUSTOM_DOMAIN = _rule(_D)
CUSTOM_OBSERVABLE = _rule(_O)
