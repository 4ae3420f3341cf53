"""The STIX 2.1 rule table the validator walks: per type, its property checks, its
required properties and its cross-property constraints.

Declarative, as stix2's own ``_properties`` are: the checks of single values are in
:mod:`kakehashi.stix.checks`; this module combines them per type and adds the
constraints between properties. :mod:`kakehashi.stix.validate` runs them in one pass over
an object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from kakehashi.stix.checks import (
    ACCEPT,
    Check,
    base64_text,
    boolean,
    extensions,
    fields,
    granular_marking,
    hashes,
    integer,
    json_object,
    list_of,
    nonempty_string,
    number,
    one_of,
    ref,
    refs,
    string,
    timestamp_check,
)

__all__ = [
    "ANY_REF",
    "ANY_REFS",
    "CUSTOM_DOMAIN",
    "CUSTOM_OBSERVABLE",
    "RULES",
    "Kind",
]

#: A cross-property rule: ``None``, or ``(property at fault, full sentence)``. It sees the
#: object and the timestamps already parsed (property name -> epoch microseconds).
Constraint = Callable[[Mapping[str, Any], Mapping[str, int]], tuple[str, str] | None]


_SRO_TYPES = frozenset({"relationship", "sighting"})
# fmt: off
_SCO_TYPES = frozenset({
    "artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message",
    "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process",
    "software", "url", "user-account", "windows-registry-key", "x509-certificate",
})
# fmt: on
_META_TYPES = frozenset({"marking-definition", "language-content", "extension-definition"})


_STRINGS = list_of(nonempty_string)
_KILL_CHAIN_PHASES = list_of(
    fields({"kill_chain_name": nonempty_string, "phase_name": nonempty_string}, {})
)
_EXTERNAL_REFERENCES = list_of(
    fields(
        {"source_name": nonempty_string},
        {"description": string, "url": string, "external_id": string, "hashes": hashes},
    )
)
ANY_REF = ref()
ANY_REFS = refs()
_NOT_RELATABLE = _SRO_TYPES | _META_TYPES | {"bundle"}

#: Properties every object may carry (STIX 2.1 sections 3.2 and 6.1), checked where present.
_COMMON: dict[str, Check] = {
    "type": ACCEPT,
    "id": ACCEPT,
    "spec_version": ACCEPT,
    "created_by_ref": ref({"identity"}, what="an identity"),
    "created": timestamp_check,
    "modified": timestamp_check,
    "revoked": boolean,
    "labels": _STRINGS,
    "confidence": integer(0, 100),
    "lang": string,
    "external_references": _EXTERNAL_REFERENCES,
    "object_marking_refs": refs({"marking-definition"}, what="a marking-definition"),
    "granular_markings": list_of(granular_marking),
    "extensions": extensions,
    "defanged": boolean,
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
    if member is not None and nonempty_string(definition.get(member)) is not None:
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
_S, _T, _B, _TEXT, _KCP = string, timestamp_check, boolean, nonempty_string, _KILL_CHAIN_PHASES
_OBJ = json_object
_SEEN = _all(_T, "first_seen last_seen")
_SEEN_ORDER = (_ordered("first_seen", "last_seen"),)
_COUNT = integer(0)
_ADDRESS_REF = ref({"ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"})
_RELATABLE_REF = ref(denied=_NOT_RELATABLE, what="an SDO or SCO")
_EXTENSION_TYPES = one_of(
    "new-sdo", "new-sco", "new-sro", "property-extension", "toplevel-property-extension"
)
_OPINIONS = one_of("strongly-disagree", "disagree", "neutral", "agree", "strongly-agree")

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
                      | {"latitude": number(-90, 90), "longitude": number(-180, 180),
                         "precision": number(0)}, "",
                      (_requires("latitude", "longitude"), _requires("longitude", "latitude"),
                       _requires("precision", "latitude"),
                       _any_of("region", "country", "latitude+longitude"))),
    "malware": _rule(_D, _all(_S, "name description") | _SEEN | {"is_family": _B}
                     | _all(_STRINGS, "malware_types aliases architecture_execution_envs "
                                      "implementation_languages capabilities")
                     | {"kill_chain_phases": _KCP, "operating_system_refs": refs({"software"}),
                        "sample_refs": refs({"artifact", "file"})},
                     "is_family",
                     (*_SEEN_ORDER, _when_flag("is_family", True, "name", required=True))),
    "malware-analysis": _rule(_D, _all(_S, "version configuration_version analysis_engine_version "
                                           "analysis_definition_version result_name result")
                              | _all(_T, "submitted analysis_started analysis_ended")
                              | _all(ref({"software"}), "host_vm_ref operating_system_ref")
                              | {"product": _TEXT, "modules": _STRINGS, "sample_ref": ANY_REF,
                                 "installed_software_refs": refs({"software"}),
                                 "analysis_sco_refs": refs(_SCO_TYPES, what="an SCO")},
                              "product", (_any_of("result", "analysis_sco_refs"),)),
    "note": _rule(_D, _all(_S, "abstract content") | _all(_STRINGS, "authors")
                  | {"object_refs": ANY_REFS}, "content object_refs"),
    "observed-data": _rule(_D, _all(_T, "first_observed last_observed")
                           | {"number_observed": integer(1, 999_999_999), "objects": _OBJ,
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
                      | {"count": integer(0, 999_999_999), "summary": _B,
                         "sighting_of_ref": ref(denied=_NOT_RELATABLE | _SCO_TYPES, what="an SDO"),
                         "observed_data_refs": refs({"observed-data"}),
                         "where_sighted_refs": refs({"identity", "location"})},
                      "sighting_of_ref", _SEEN_ORDER),
    # meta objects (section 7)
    "language-content": _rule(_D, {"object_ref": ANY_REF, "object_modified": _T,
                                   "contents": _OBJ}, "object_ref contents"),
    "extension-definition": _rule(_D, _all(_S, "name description") | _all(_TEXT, "schema version")
                                  | {"extension_types": list_of(_EXTENSION_TYPES),
                                     "extension_properties": _STRINGS},
                                  "created_by_ref name schema version extension_types"),
    "marking-definition": _rule(_M, {"definition_type": _TEXT, "name": _S, "definition": _OBJ},
                                "", (_marking_definition,)),
    # SCOs (section 6)
    "artifact": _rule(_O, _all(_S, "mime_type url encryption_algorithm decryption_key")
                      | {"payload_bin": base64_text, "hashes": hashes}, "",
                      (_any_of("payload_bin", "url"), _exclusive("payload_bin", "url"),
                       _requires("url", "hashes"))),
    "autonomous-system": _rule(_O, _all(_S, "name rir") | {"number": _COUNT}, "number"),
    "directory": _rule(_O, _all(_S, "path_enc") | _all(_T, "ctime mtime atime")
                       | {"path": _TEXT, "contains_refs": refs({"file", "directory"})}, "path"),
    "domain-name": _rule(_O, {"value": _TEXT, "resolves_to_refs": refs({"ipv4-addr", "ipv6-addr",
                                                                         "domain-name"})}, "value"),
    "email-addr": _rule(_O, {"value": _TEXT, "display_name": _S,
                             "belongs_to_ref": ref({"user-account"})}, "value"),
    "email-message": _rule(_O, _all(_S, "content_type message_id subject body")
                           | _all(ref({"email-addr"}), "from_ref sender_ref")
                           | _all(refs({"email-addr"}), "to_refs cc_refs bcc_refs")
                           | {"is_multipart": _B, "date": _T, "received_lines": _STRINGS,
                              "additional_header_fields": _OBJ,
                              "body_multipart": list_of(_OBJ),
                              "raw_email_ref": ref({"artifact"})},
                           "is_multipart",
                           (_when_flag("is_multipart", True, "body", required=False),
                            _when_flag("is_multipart", False, "body_multipart", required=False))),
    "file": _rule(_O, _all(_S, "name name_enc magic_number_hex mime_type")
                  | _all(_T, "ctime mtime atime")
                  | {"hashes": hashes, "size": _COUNT, "contains_refs": ANY_REFS,
                     "parent_directory_ref": ref({"directory"}),
                     "content_ref": ref({"artifact"})}, "", (_any_of("hashes", "name"),)),
    "ipv4-addr": _rule(_O, {"value": _TEXT, "resolves_to_refs": refs({"mac-addr"}),
                            "belongs_to_refs": refs({"autonomous-system"})}, "value"),
    "ipv6-addr": _rule(_O, {"value": _TEXT, "resolves_to_refs": refs({"mac-addr"}),
                            "belongs_to_refs": refs({"autonomous-system"})}, "value"),
    "mac-addr": _rule(_O, {"value": _TEXT}, "value"),
    "mutex": _rule(_O, {"name": _TEXT}, "name"),
    "network-traffic": _rule(_O, _all(_T, "start end") | _all(_ADDRESS_REF, "src_ref dst_ref")
                             | _all(integer(0, 65535), "src_port dst_port")
                             | _all(_COUNT, "src_byte_count dst_byte_count src_packets dst_packets")
                             | _all(ref({"artifact"}), "src_payload_ref dst_payload_ref")
                             | {"is_active": _B, "protocols": _STRINGS, "ipfix": _OBJ,
                                "encapsulates_refs": refs({"network-traffic"}),
                                "encapsulated_by_ref": ref({"network-traffic"})},
                             "protocols",
                             (_any_of("src_ref", "dst_ref"), _ordered("start", "end"),
                              _when_flag("is_active", True, "end", required=False))),
    "process": _rule(_O, _all(_S, "cwd command_line")
                     | {"is_hidden": _B, "pid": integer(), "created_time": _T,
                        "environment_variables": _OBJ,
                        "opened_connection_refs": refs({"network-traffic"}),
                        "creator_user_ref": ref({"user-account"}), "image_ref": ref({"file"}),
                        "parent_ref": ref({"process"}), "child_refs": refs({"process"})},
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
    "windows-registry-key": _rule(_O, {"key": _S, "values": list_of(_OBJ), "modified_time": _T,
                                       "creator_user_ref": ref({"user-account"}),
                                       "number_of_subkeys": _COUNT}, own_property="props"),
    "x509-certificate": _rule(_O, _all(_S, "version serial_number signature_algorithm issuer "
                                           "subject subject_public_key_algorithm "
                                           "subject_public_key_modulus")
                              | _all(_T, "validity_not_before validity_not_after")
                              | {"is_self_signed": _B, "hashes": hashes,
                                 "subject_public_key_exponent": integer(),
                                 "x509_v3_extensions": _OBJ}, own_property="props"),
}
# fmt: on
# Custom types (section 11.2): versioned like an SDO when they carry created/modified,
# else identified like an SCO.
CUSTOM_DOMAIN = _rule(_D)
CUSTOM_OBSERVABLE = _rule(_O)
