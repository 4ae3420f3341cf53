"""Match assets against advisories; every exposure says which rule and which range (issue 6).

Rules, strongest first; a weaker rule is tried only when the stronger identifier is
missing on one side (an asset and a product that both carry package URLs that differ do
not match by name):

1. ``purl``: same type, namespace and name; versions ordered by the ecosystem's scheme
   (``deb`` -> Debian, ``npm``/``cargo``/``golang`` -> semver, else the advisory's).
2. ``cpe``: same CPE vendor and product (2.3 formatted strings or 2.2 URIs); a product
   without ranges whose CPE names a version is affected in exactly that version.
3. ``vendor+product name``: equal after normalising case, punctuation and company
   suffixes (``Acme Networks, Inc.`` == ``acme networks``).

Then the version decides, in this order: an exact ``fixed``/``known_not_affected`` entry
(a backport) -> not exposed; a range with status affected that contains it -> affected;
a range that cannot be evaluated -> ``cannot decide``; a ``fixed``/``known_not_affected``
range that contains it -> not exposed; an ``under_investigation`` range -> under
investigation; otherwise the product's default status. An asset without a usable version
is ``cannot decide``, never dropped.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from kakehashi.advisories.errors import CannotDecide
from kakehashi.advisories.model import (
    Advisory,
    AffectedProduct,
    Asset,
    Decision,
    Exposure,
    MatchRule,
    Status,
    StatusRange,
)
from kakehashi.advisories.versions import Scheme, VersionRange, scheme_for_purl_type

__all__ = [
    "AdvisoryIndex",
    "Cpe",
    "Purl",
    "find_exposures",
    "normalise_name",
    "parse_cpe",
    "parse_purl",
    "urgency_key",
]

_SUFFIXES = {
    "inc", "incorporated", "ltd", "limited", "co", "corp", "corporation", "company",
    "gmbh", "ag", "sa", "llc", "plc", "kk", "bv", "nv", "ab", "oy", "srl", "spa",
}  # fmt: skip
_WORDS = re.compile(r"[a-z0-9]+")


def normalise_name(name: str) -> str:
    """Lower case, words only, company suffixes dropped: ``"Acme Networks, Inc."`` ->
    ``"acme networks"``."""
    words = _WORDS.findall(name.lower())
    while len(words) > 1 and words[-1] in _SUFFIXES:
        words.pop()
    return " ".join(words)


@dataclass(frozen=True, slots=True)
class Purl:
    """The parts of a package URL that identify a package, and its version."""

    type: str
    namespace: str
    name: str
    version: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        """``(type, namespace, name)``, normalised for the ecosystem."""
        if self.type == "pypi":
            return (self.type, "", re.sub(r"[-_.]+", "-", self.name.lower()))
        return (self.type, self.namespace, self.name)


def parse_purl(text: str) -> Purl | None:
    """``pkg:type/namespace/name@version?qualifiers#subpath`` -> :class:`Purl`, or ``None``."""
    if not text.startswith("pkg:"):
        return None
    body = text[4:].split("#", 1)[0].split("?", 1)[0].strip("/")
    version = ""
    if "@" in body.rsplit("/", 1)[-1]:
        body, version = body.rsplit("@", 1)
    parts = body.split("/")
    if len(parts) < 2 or not parts[0] or not parts[-1]:
        return None
    namespace = "/".join(unquote(p) for p in parts[1:-1])
    return Purl(parts[0].lower(), namespace, unquote(parts[-1]), unquote(version))


@dataclass(frozen=True, slots=True)
class Cpe:
    """Vendor, product and version of a CPE name (lower case, ``*``/``-`` kept)."""

    vendor: str
    product: str
    version: str


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def parse_cpe(text: str) -> Cpe | None:
    """A CPE 2.3 formatted string or a 2.2 URI -> :class:`Cpe`, or ``None``."""
    low = text.strip().lower()
    if low.startswith("cpe:2.3:"):
        fields = re.split(r"(?<!\\):", low)
        if len(fields) < 6:
            return None
        return Cpe(_unescape(fields[3]), _unescape(fields[4]), _unescape(fields[5]))
    if low.startswith("cpe:/"):
        fields = low[5:].split(":")
        if len(fields) < 3:
            return None
        return Cpe(
            unquote(fields[1]), unquote(fields[2]), unquote(fields[3]) if len(fields) > 3 else "*"
        )
    return None


def _specific(version: str) -> bool:
    return version not in ("", "*", "-")


_Entry = tuple[Advisory, AffectedProduct]


class AdvisoryIndex:
    """Advisories indexed by package URL, CPE vendor/product and normalised names.

    Build once, then ask :meth:`exposures_for` per asset (streams: memory is the index).
    """

    def __init__(self, advisories: Iterable[Advisory]) -> None:
        self._by_purl: dict[tuple[str, str, str], list[_Entry]] = defaultdict(list)
        self._by_cpe: dict[tuple[str, str], list[_Entry]] = defaultdict(list)
        self._by_name: dict[tuple[str, str], list[_Entry]] = defaultdict(list)
        for advisory in advisories:
            for product in advisory.products:
                entry = (advisory, product)
                purl = parse_purl(product.purl)
                if purl is not None:
                    self._by_purl[purl.key].append(entry)
                for text in product.cpes:
                    cpe = parse_cpe(text)
                    if cpe is not None:
                        self._by_cpe[(cpe.vendor, cpe.product)].append(entry)
                names = (normalise_name(product.vendor), normalise_name(product.product))
                if all(names):
                    self._by_name[names].append(entry)

    def _candidates(self, asset: Asset) -> list[_Entry]:
        seen: dict[int, _Entry] = {}
        purl = parse_purl(asset.purl)
        cpe = parse_cpe(asset.cpe)
        keys: list[list[_Entry]] = []
        if purl is not None:
            keys.append(self._by_purl.get(purl.key, []))
        if cpe is not None:
            keys.append(self._by_cpe.get((cpe.vendor, cpe.product), []))
        keys.append(
            self._by_name.get((normalise_name(asset.vendor), normalise_name(asset.product)), [])
        )
        for entries in keys:
            for entry in entries:
                seen.setdefault(id(entry), entry)  # one tuple per (advisory, product)
        return list(seen.values())

    def exposures_for(self, asset: Asset) -> list[Exposure]:
        """The exposures of one asset: at most one per advisory (the most certain)."""
        best: dict[str, Exposure] = {}
        for advisory, product in self._candidates(asset):
            exposure = _match(asset, advisory, product)
            if exposure is None:
                continue
            current = best.get(advisory.id)
            if current is None or _certainty(exposure) < _certainty(current):
                best[advisory.id] = exposure
        return list(best.values())


_DECISION_RANK = {Decision.AFFECTED: 0, Decision.UNDER_INVESTIGATION: 1, Decision.CANNOT_DECIDE: 2}
_RULE_RANK = {MatchRule.PURL: 0, MatchRule.CPE: 1, MatchRule.NAME: 2}


def _certainty(exposure: Exposure) -> tuple[int, int]:
    return (_DECISION_RANK[exposure.decision], _RULE_RANK[exposure.rule])


def _rule(
    asset: Asset, product: AffectedProduct
) -> tuple[MatchRule, str, Scheme | None, tuple[StatusRange, ...]] | None:
    """Which rule ties the asset to the product, the asset's version, the scheme to use
    instead of the advisory's vendor default, and the ranges (CPE may add one)."""
    asset_purl, product_purl = parse_purl(asset.purl), parse_purl(product.purl)
    if asset_purl is not None and product_purl is not None:
        if asset_purl.key != product_purl.key:
            return None
        scheme = scheme_for_purl_type(asset_purl.type)
        return (
            MatchRule.PURL,
            asset_purl.version or asset.version,
            None if scheme is Scheme.UNSUPPORTED else scheme,
            product.ranges,
        )
    asset_cpe = parse_cpe(asset.cpe)
    product_cpes = [c for c in (parse_cpe(t) for t in product.cpes) if c is not None]
    if asset_cpe is not None and product_cpes:
        same = [
            c
            for c in product_cpes
            if (c.vendor, c.product) == (asset_cpe.vendor, asset_cpe.product)
        ]
        if not same:
            return None
        version = asset.version or (asset_cpe.version if _specific(asset_cpe.version) else "")
        ranges = product.ranges
        if not ranges:
            ranges = tuple(
                StatusRange(VersionRange.exact(c.version), Status.AFFECTED)
                for c in same
                if _specific(c.version)
            )
        return MatchRule.CPE, version, None, ranges
    names = (normalise_name(asset.vendor), normalise_name(asset.product))
    wanted = (normalise_name(product.vendor), normalise_name(product.product))
    if all(names) and names == wanted:
        return MatchRule.NAME, asset.version, None, product.ranges
    return None


def _match(asset: Asset, advisory: Advisory, product: AffectedProduct) -> Exposure | None:
    found = _rule(asset, product)
    if found is None:
        return None
    rule, version, scheme, ranges = found
    if scheme is not None:
        ranges = tuple(
            dataclasses.replace(sr, range=dataclasses.replace(sr.range, scheme=scheme))
            if sr.range.scheme is Scheme.VENDOR
            else sr
            for sr in ranges
        )

    def exposure(decision: Decision, why: str, rng: VersionRange | None = None) -> Exposure:
        fixed = product.fixed_version
        if rng is not None and rng.upper and not rng.upper_inclusive:
            fixed = rng.upper
        return Exposure(
            asset=asset,
            advisory=advisory,
            product=product,
            rule=rule,
            decision=decision,
            why=f"{rule.value} match; {why}",
            range=rng,
            fixed_version=fixed,
        )

    if not version:
        if not ranges and product.status is Status.AFFECTED:
            return exposure(Decision.AFFECTED, "all versions affected")
        return exposure(Decision.CANNOT_DECIDE, "the asset has no version")
    inside: list[tuple[StatusRange, str]] = []
    undecided: list[str] = []
    for sr in ranges:
        try:
            check = sr.range.check(version)
        except CannotDecide as exc:
            undecided.append(f"{sr.range}: {exc}")
            continue
        if check.inside:
            inside.append((sr, check.why))
    for sr, _why in inside:
        if sr.range.is_exact and sr.status.is_safe:
            return None
    for sr, why in inside:
        if sr.status is Status.AFFECTED:
            return exposure(Decision.AFFECTED, f"affected range {sr.range}: {why}", sr.range)
    if undecided:
        return exposure(Decision.CANNOT_DECIDE, "; ".join(undecided))
    if any(sr.status.is_safe for sr, _ in inside):
        return None
    for sr, why in inside:
        if sr.status is Status.UNDER_INVESTIGATION:
            return exposure(Decision.UNDER_INVESTIGATION, f"range {sr.range}: {why}", sr.range)
    default = f"{version} in no listed range; default status {product.status.value}"
    if product.status is Status.AFFECTED:
        return exposure(Decision.AFFECTED, default)
    if product.status is Status.UNDER_INVESTIGATION:
        return exposure(Decision.UNDER_INVESTIGATION, default)
    return None


def urgency_key(exposure: Exposure) -> tuple[int, float, int, str, str, str]:
    """Sort key, most urgent first: known exploited, then CVSS, then asset criticality."""
    advisory, asset = exposure.advisory, exposure.asset
    return (
        0 if advisory.known_exploited else 1,
        -(advisory.cvss if advisory.cvss is not None else -1.0),
        -int(asset.criticality),
        advisory.id,
        asset.organization,
        asset.ref,
    )


def find_exposures(assets: Iterable[Asset], advisories: Iterable[Advisory]) -> list[Exposure]:
    """Every exposure of ``assets`` to ``advisories``, most urgent first.

    >>> find_exposures([], [])
    []
    """
    index = AdvisoryIndex(advisories)
    found = [e for asset in assets for e in index.exposures_for(asset)]
    return sorted(found, key=urgency_key)
