"""Normalisation: equal things must compare equal, however a producer spelled them.

Applied to both sides of ``=``, ``!=`` and ``IN`` (the pattern's literal when the indicator
is compiled, the observed value when it is matched); ``LIKE`` and ``MATCHES`` see the value
as observed, and ``ISSUBSET``/``ISSUPERSET`` compare addresses as numbers anyway.

- a ``hashes`` key, anywhere in a path: ``SHA256``, ``sha-256``, ``'SHA-256'`` are all
  ``SHA-256`` (the names of STIX's hash-algorithm-ov);
- a hexadecimal hash value (every algorithm but SSDEEP): lower case;
- ``domain-name:value``: lower case, one trailing dot removed;
- ``ipv4-addr:value``: a CIDR loses its host bits; ``/32`` is the bare address;
- ``ipv6-addr:value``: RFC 5952 text (lower case, ``::`` for the longest zero run); CIDRs
  as for IPv4;
- ``mac-addr:value``: lower case, ``-`` becomes ``:``.

Which rule applies is decided by the type of the object that holds the value: for a path
through a reference (``network-traffic:dst_ref.value``) that is the referenced object.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Callable

__all__ = [
    "CANONICAL_HASH_NAMES",
    "HEX_HASHES",
    "Normaliser",
    "canonical_hash_name",
    "domain_value",
    "ipv4_value",
    "ipv6_value",
    "mac_value",
    "plausible_forms",
    "value_normaliser",
]

Normaliser = Callable[[str], str]

_HASH_NAMES = {
    "MD5": "MD5",
    "SHA1": "SHA-1",
    "SHA224": "SHA-224",
    "SHA256": "SHA-256",
    "SHA384": "SHA-384",
    "SHA512": "SHA-512",
    "SHA3224": "SHA3-224",
    "SHA3256": "SHA3-256",
    "SHA3384": "SHA3-384",
    "SHA3512": "SHA3-512",
    "SSDEEP": "SSDEEP",
    "TLSH": "TLSH",
}
#: The STIX names of hash algorithms: what :func:`canonical_hash_name` maps each to itself.
CANONICAL_HASH_NAMES = frozenset(_HASH_NAMES.values())
#: Algorithms whose values are hexadecimal, so case does not matter.
HEX_HASHES = frozenset(set(_HASH_NAMES.values()) - {"SSDEEP"})


@functools.lru_cache(maxsize=4096)
def canonical_hash_name(name: str) -> str:
    """The STIX name of a hash algorithm: ``sha256`` → ``SHA-256``; unknown names unchanged.

    >>> canonical_hash_name("sha-256"), canonical_hash_name("SHA256")
    ('SHA-256', 'SHA-256')
    """
    key = name.upper().replace("-", "").replace("_", "")
    return _HASH_NAMES.get(key, name)


def hex_value(value: str) -> str:
    return value.lower()


def domain_value(value: str) -> str:
    """``Example.COM.`` → ``example.com``."""
    value = value.lower()
    return value[:-1] if value.endswith(".") else value


def mac_value(value: str) -> str:
    return value.lower().replace("-", ":")


def ipv4_value(value: str) -> str:
    """A CIDR without host bits (``10.1.2.3/8`` → ``10.0.0.0/8``); ``/32`` → the address."""
    if "/" not in value:
        return value
    try:
        network = ipaddress.IPv4Network(value, strict=False)
    except ValueError:
        return value
    if network.prefixlen == 32:
        return str(network.network_address)
    return str(network)


def _v6_text(packed: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET6, packed)


def ipv6_value(value: str) -> str:
    """RFC 5952 text: ``2001:DB8:0:0::1`` → ``2001:db8::1``; CIDRs lose their host bits."""
    if "/" in value:
        try:
            network = ipaddress.IPv6Network(value, strict=False)
        except ValueError:
            return value.lower()
        address = _v6_text(network.network_address.packed)
        return address if network.prefixlen == 128 else f"{address}/{network.prefixlen}"
    try:
        return _v6_text(socket.inet_pton(socket.AF_INET6, value))
    except (OSError, ValueError):
        return value.lower()


_BY_TYPE: dict[str, Normaliser] = {
    "ipv4-addr": ipv4_value,
    "ipv6-addr": ipv6_value,
    "domain-name": domain_value,
    "mac-addr": mac_value,
}


def value_normaliser(owner_type: str | None, keys: tuple[str, ...]) -> Normaliser | None:
    """The rule for a value found at ``keys`` inside an object of ``owner_type``, if any.

    ``keys`` are the property names stepped through inside that object (list indexes left
    out), with hash names already canonical.
    """
    if len(keys) >= 2 and keys[-2] == "hashes":
        return hex_value if keys[-1] in HEX_HASHES else None
    if keys == ("value",) and owner_type is not None:
        return _BY_TYPE.get(owner_type)
    return None


def plausible_forms(value: str) -> set[str]:
    """Every form ``value`` may take under some rule: the index keys of a comparison whose
    path goes through a reference, where the holding object's type is known only when an
    observation is matched (the match is then confirmed with the real rule)."""
    return {value, *(rule(value) for rule in _BY_TYPE.values()), hex_value(value)}
