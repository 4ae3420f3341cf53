"""The index's plans as the compiled loop (``_scan.c``) reads them.

:class:`kakehashi.match.compile.TypePlan` holds what the Python loop needs; the C loop
reads plain tuples (each shape is named where it is built, and checked by ``_scan.c`` as
it is used) with two additions of its own: a Bloom filter in front of each large exact
table, and the IPv4 networks as a flat table
(:meth:`kakehashi.match.probe.AddressIndex.c_table`). Built once per index, by the first
matcher that needs them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from types import ModuleType
from typing import Any

from kakehashi.match.compile import TypePlan
from kakehashi.match.normalise import CANONICAL_HASH_NAMES, Normaliser, domain_value, hex_value
from kakehashi.match.probe import Probe, remembered_containing

__all__ = ["BLOOM_FROM", "c_plans"]

#: Exact tables this large get a Bloom filter in front of them in the C loop: below it,
#: the table stays in the CPU's caches and the filter would only add a step.
BLOOM_FROM = 16_384
#: A network check acts on network text ("10.1.0.0/16") alone: the C loop calls it only
#: for such text, sparing a call per plain address, the bulk of the traffic.
_NETWORK_CHECK: Callable[..., None] = Probe._cidr_network


def bloom_filter(exact: dict[Any, Any], scan: ModuleType) -> bytes | None:
    """The filter ``scan.bloom`` builds over a large exact table (about 16 bits a key)."""
    if len(exact) < BLOOM_FROM:
        return None
    size = 1 << (2 * len(exact) - 1).bit_length()
    filter_bytes: bytes = scan.bloom(exact, size)
    return filter_bytes


def rule_kind(rule: Normaliser | None) -> int:
    """What _scan.c may do without calling ``rule`` (its RULE_* kinds): it knows that these
    rules leave ASCII text without capitals (and, for domains, a trailing dot) alone."""
    return 1 if rule is hex_value else 2 if rule is domain_value else 0


def slow_entry(probe: Probe, scan: ModuleType) -> tuple[Any, ...]:
    """A slow probe for _scan.c: a hash probe (``file:hashes.'SHA-256'``) it runs itself,
    or ``(probe,)`` for :meth:`kakehashi.match.engine.Matcher._slow`."""
    walk = probe.walk
    if walk is None or len(walk) != 2 or walk[0] != "hashes" or probe.address_ranges is not None:
        return (probe,)
    return (
        walk[0],
        walk[1],
        probe.rule,
        rule_kind(probe.rule),
        probe.exact,
        bloom_filter(probe.exact, scan),
        probe.checks,
        CANONICAL_HASH_NAMES,
        (probe,),
    )


def c_plans(plans: dict[str, TypePlan], scan: ModuleType) -> dict[str, Any]:
    """The plans in the plain tuples ``scan.feed`` (:mod:`kakehashi.match._scan`) reads."""
    found: dict[str, Any] = {}
    for object_type, plan in plans.items():
        fast = []
        for key, rule, slash_rule, exact, ranges, checks in plan.fast:
            ipv4_table = ipv6_lookup = None
            if ranges is not None:
                if ranges[0] is not None:
                    ipv4_table = ranges[0].c_table()
                if ranges[1] is not None:
                    ipv6_lookup = partial(remembered_containing, ranges)
            network = tuple(c for c in checks if getattr(c, "__func__", None) is _NETWORK_CHECK)
            others = tuple(c for c in checks if c not in network)
            fast.append(
                (
                    key,
                    rule,
                    slash_rule,
                    exact,
                    ipv4_table,
                    ipv6_lookup,
                    others,
                    network,
                    bloom_filter(exact, scan),
                    rule_kind(rule),
                )
            )
        slow = tuple(slow_entry(probe, scan) for probe in plan.slow)
        found[object_type] = (tuple(fast), slow, plan.scan)
    return found
