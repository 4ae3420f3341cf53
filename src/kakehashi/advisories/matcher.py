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
an affected or under-investigation range that cannot be evaluated -> ``cannot decide``
(a fixed or not-affected one that cannot be is passed over: it could only clear the
asset); a ``fixed``/``known_not_affected`` range that contains it -> not exposed; an
``under_investigation`` range -> under investigation; otherwise the product's default
status. An asset without a usable version
is ``cannot decide``, never dropped.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
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
from kakehashi.advisories.versions import (
    Scheme,
    VersionRange,
    range_contains,
    scheme_for_purl_type,
)

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
    "pvt", "llp", "kabushiki", "kaisha",  # India's "Pvt. Ltd.", Japan's "Kabushiki Kaisha"
}  # fmt: skip
# Japanese company forms, written before or after the name with no space to split on:
# 株式会社 (kabushiki kaisha), 有限会社 (yugen kaisha), 合同会社 (godo kaisha), and the
# abbreviations (株) and ㈱ (NFKC folds the full-width parentheses and ㈱ into "(株)").
_JAPANESE_FORMS = ("株式会社", "有限会社", "合同会社", "(株)", "(有)", "(同)")
# Letters and digits of any script: vendor names are not all ASCII ("Société Générale",
# "日立製作所"), and dropping what is not would make different names equal or empty.
_WORDS = re.compile(r"[^\W_]+")
# Dotted initials ("S.A.", "K.K.", "N.V."), read as one word ("sa", "kk", "nv").
_INITIALS = re.compile(r"(?<![^\W_])[^\W\d_](?:\.[^\W\d_])+\.?(?![^\W_])")


def normalise_name(name: str) -> str:
    """Case folded, words only, company forms dropped: ``"Acme Networks, Inc."`` ->
    ``"acme networks"``, ``"Acme S.A."`` -> ``"acme"``, ``"Acme Pvt. Ltd."`` -> ``"acme"``,
    ``"株式会社日立製作所"`` -> ``"日立製作所"``."""
    folded = unicodedata.normalize("NFKC", name).casefold().strip()
    for form in _JAPANESE_FORMS:
        if folded.startswith(form) and folded != form:
            folded = folded[len(form) :].lstrip()
        if folded.endswith(form) and folded != form:
            folded = folded[: -len(form)].rstrip()
    folded = _INITIALS.sub(lambda m: m.group(0).replace(".", ""), folded)
    words = _WORDS.findall(folded)
    if words[:2] == ["kabushiki", "kaisha"] and len(words) > 2:
        del words[:2]  # "Kabushiki Kaisha Toshiba": the form written first
    if words[-2:] == ["private", "limited"] and len(words) > 2:
        del words[-2:]  # India's "Private Limited", as "Pvt. Ltd." is
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

# --- the index's view of a product, and an asset's identifiers, computed once -------------

_CACHE_SIZE = 1 << 16
_MEMO_SIZE = 1 << 17
_Signature = tuple[Any, ...]
_Found = tuple[Advisory, AffectedProduct, MatchRule, Decision, str, VersionRange | None, str]
_PURL, _CPE, _NAME = MatchRule.PURL, MatchRule.CPE, MatchRule.NAME
_AFFECTED, _UNDER_INVESTIGATION = Status.AFFECTED, Status.UNDER_INVESTIGATION
_VENDOR = Scheme.VENDOR


class _Indexed:
    """One (advisory, product) of the index with its identifiers parsed once.

    ``cpe_ranges`` maps each CPE (vendor, product) of the product to the ranges the CPE
    rule uses (the product's, or one exact range per CPE naming a version); ``None`` when
    the product has no CPE.
    """

    __slots__ = ("advisory", "cpe_ranges", "names", "product", "purl_key")

    def __init__(self, advisory: Advisory, product: AffectedProduct) -> None:
        self.advisory = advisory
        self.product = product
        purl = _product_purl(product.purl) if product.purl else None
        self.purl_key = purl.key if purl is not None else None
        cpes = [c for c in (_cached_cpe(t) for t in product.cpes) if c is not None]
        self.cpe_ranges: dict[tuple[str, str], tuple[StatusRange, ...]] | None = None
        if cpes:
            self.cpe_ranges = {}
            for cpe in cpes:
                key = (cpe.vendor, cpe.product)
                if key in self.cpe_ranges:
                    continue
                ranges = product.ranges
                if not ranges:
                    ranges = tuple(
                        StatusRange(VersionRange.exact(c.version), Status.AFFECTED)
                        for c in cpes
                        if (c.vendor, c.product) == key and _specific(c.version)
                    )
                self.cpe_ranges[key] = ranges
        self.names = (_normalised(product.vendor), _normalised(product.product))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _asset_purl(text: str) -> tuple[tuple[str, str, str], str, Scheme | None] | None:
    """(key, version, scheme or ``None`` if unsupported) of an asset's purl."""
    purl = parse_purl(text)
    if purl is None:
        return None
    scheme = scheme_for_purl_type(purl.type)
    return purl.key, purl.version, None if scheme is Scheme.UNSUPPORTED else scheme


# Names, CPEs and package URLs repeat across advisories and across assets: parse each once.
_cached_cpe = functools.lru_cache(maxsize=_CACHE_SIZE)(parse_cpe)
_product_purl = functools.lru_cache(maxsize=_CACHE_SIZE)(parse_purl)
_normalised = functools.lru_cache(maxsize=_CACHE_SIZE)(normalise_name)


class AdvisoryIndex:
    """Advisories indexed by package URL, CPE vendor/product and normalised names.

    Build once, then ask :meth:`exposures_for` per asset (streams: memory is the index).
    Each product's identifiers are parsed when the index is built; an asset's purl, CPE
    and names, and every version's sort key, are parsed once and cached (bounded caches),
    and an exposure is built only for a product the asset is exposed to.
    """

    def __init__(self, advisories: Iterable[Advisory]) -> None:
        self._by_purl: dict[tuple[str, str, str], list[_Indexed]] = defaultdict(list)
        self._by_cpe: dict[tuple[str, str], list[_Indexed]] = defaultdict(list)
        self._by_name: dict[tuple[str, str], list[_Indexed]] = defaultdict(list)
        for advisory in advisories:
            for product in advisory.products:
                entry = _Indexed(advisory, product)
                if entry.purl_key is not None:
                    self._by_purl[entry.purl_key].append(entry)
                if entry.cpe_ranges is not None:
                    for key in entry.cpe_ranges:
                        self._by_cpe[key].append(entry)
                if all(entry.names):
                    self._by_name[entry.names].append(entry)
        self._memo: dict[_Signature, tuple[_Found, ...]] = {}

    def exposures_for(self, asset: Asset) -> list[Exposure]:
        """The exposures of one asset: at most one per advisory (the most certain)."""
        purl = _asset_purl(asset.purl) if asset.purl else None
        cpe = _cached_cpe(asset.cpe) if asset.cpe else None
        vendor, product = _normalised(asset.vendor), _normalised(asset.product)
        # Everything below depends on these identifiers and the version only, and a
        # country's inventory repeats them (fleets of identical devices): remember the
        # answer per signature and only put the asset into it.
        signature = (
            purl,
            None if cpe is None else (cpe.vendor, cpe.product, cpe.version),
            vendor,
            product,
            asset.version,
        )
        known = self._memo.get(signature)
        if known is not None:
            return [
                Exposure(asset, advisory, found, rule, decision, why, rng, fixed)
                for advisory, found, rule, decision, why, rng, fixed in known
            ]
        exposures = self._exposures(asset, purl, cpe, vendor, product)
        if len(self._memo) >= _MEMO_SIZE:
            self._memo.clear()
        self._memo[signature] = tuple(
            (e.advisory, e.product, e.rule, e.decision, e.why, e.range, e.fixed_version)
            for e in exposures
        )
        return exposures

    def _exposures(
        self,
        asset: Asset,
        purl: tuple[tuple[str, str, str], str, Scheme | None] | None,
        cpe: Cpe | None,
        vendor: str,
        product: str,
    ) -> list[Exposure]:
        names = (vendor, product) if vendor and product else None
        lists: list[list[_Indexed]] = []
        if purl is not None:
            found = self._by_purl.get(purl[0])
            if found:
                lists.append(found)
        if cpe is not None:
            found = self._by_cpe.get((cpe.vendor, cpe.product))
            if found:
                lists.append(found)
        found = self._by_name.get((vendor, product))
        if found:
            lists.append(found)
        if not lists:
            return []
        if len(lists) == 1:
            candidates: Iterable[_Indexed] = lists[0]
        else:
            seen: dict[int, _Indexed] = {}
            for entries in lists:
                for entry in entries:
                    seen.setdefault(id(entry), entry)
            candidates = seen.values()
        best: dict[str, Exposure] = {}
        for entry in candidates:
            exposure = _match_indexed(asset, entry, purl, cpe, names)
            if exposure is None:
                continue
            current = best.get(entry.advisory.id)
            if current is None or _certainty(exposure) < _certainty(current):
                best[entry.advisory.id] = exposure
        return list(best.values())


_DECISION_RANK = {Decision.AFFECTED: 0, Decision.UNDER_INVESTIGATION: 1, Decision.CANNOT_DECIDE: 2}
_RULE_RANK = {MatchRule.PURL: 0, MatchRule.CPE: 1, MatchRule.NAME: 2}


def _certainty(exposure: Exposure) -> tuple[int, int]:
    return (_DECISION_RANK[exposure.decision], _RULE_RANK[exposure.rule])


def _match_indexed(
    asset: Asset,
    entry: _Indexed,
    purl: tuple[tuple[str, str, str], str, Scheme | None] | None,
    cpe: Cpe | None,
    names: tuple[str, str] | None,
) -> Exposure | None:
    """:func:`_match` on pre-parsed identifiers: the rule as :func:`_rule`, then
    :func:`_decide`. ``purl``, ``cpe`` and ``names`` are the asset's."""
    product = entry.product
    scheme: Scheme | None = None
    if purl is not None and entry.purl_key is not None:
        if purl[0] != entry.purl_key:
            return None
        rule, version, scheme, ranges = _PURL, purl[1] or asset.version, purl[2], product.ranges
    elif cpe is not None and entry.cpe_ranges is not None:
        found = entry.cpe_ranges.get((cpe.vendor, cpe.product))
        if found is None:
            return None
        version = asset.version or (cpe.version if _specific(cpe.version) else "")
        rule, ranges = _CPE, found
    elif names is not None and names == entry.names:
        rule, version, ranges = _NAME, asset.version, product.ranges
    else:
        return None
    return _decide(asset, entry.advisory, product, rule, version, scheme, ranges)


def _rule(
    asset: Asset, product: AffectedProduct
) -> tuple[MatchRule, str, Scheme | None, tuple[StatusRange, ...]] | None:
    """Which rule ties the asset to the product, the asset's version, the scheme to use
    instead of the advisory's vendor default, and the ranges (CPE may add one).

    The reference for :func:`_match_indexed`, which does the same on pre-parsed input."""
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
    names = (_normalised(asset.vendor), _normalised(asset.product))
    wanted = (_normalised(product.vendor), _normalised(product.product))
    if all(names) and names == wanted:
        return MatchRule.NAME, asset.version, None, product.ranges
    return None


def _match(asset: Asset, advisory: Advisory, product: AffectedProduct) -> Exposure | None:
    """The exposure of ``asset`` to one product of ``advisory``, or ``None``."""
    found = _rule(asset, product)
    if found is None:
        return None
    rule, version, scheme, ranges = found
    return _decide(asset, advisory, product, rule, version, scheme, ranges)


def _decide(
    asset: Asset,
    advisory: Advisory,
    product: AffectedProduct,
    rule: MatchRule,
    version: str,
    scheme: Scheme | None,
    ranges: tuple[StatusRange, ...],
) -> Exposure | None:
    """Let the version decide (see the module's docstring for the order).

    Which ranges hold the version is found without building explanations
    (:func:`range_contains`, cached sort keys); the explanation is built only for the
    exposure returned. ``scheme`` replaces the vendor scheme of the ranges (purl rule).
    """
    if not version:
        if not ranges and product.status is _AFFECTED:
            return _exposure(
                asset, advisory, product, rule, Decision.AFFECTED, "all versions affected"
            )
        return _exposure(
            asset, advisory, product, rule, Decision.CANNOT_DECIDE, "the asset has no version"
        )
    inside: list[StatusRange] = []
    undecided = False
    for sr in ranges:
        rng = sr.range
        try:
            if range_contains(
                rng, version, scheme if scheme is not None and rng.scheme is _VENDOR else None
            ):
                inside.append(sr)
        except CannotDecide:
            # Only a range that could expose the asset makes it undecidable: a fixed or
            # not-affected entry that cannot be compared (a "7.0.2.4-lts" backport) says
            # nothing about a version outside every affected range.
            if not sr.status.is_safe:
                undecided = True
    if not inside and not undecided:
        status = product.status
        if status is not _AFFECTED and status is not _UNDER_INVESTIGATION:
            return None
    for sr in inside:
        if sr.status.is_safe and sr.range.is_exact:
            return None
    for sr in inside:
        if sr.status is _AFFECTED:
            rng = _effective(sr.range, scheme)
            why = f"affected range {rng}: {rng.check(version).why}"
            return _exposure(asset, advisory, product, rule, Decision.AFFECTED, why, rng)
    if undecided:
        reasons: list[str] = []
        for sr in ranges:
            if sr.status.is_safe:
                continue
            rng = _effective(sr.range, scheme)
            try:
                rng.check(version)
            except CannotDecide as exc:
                reasons.append(f"{rng}: {exc}")
        why = "; ".join(reasons)
        return _exposure(asset, advisory, product, rule, Decision.CANNOT_DECIDE, why)
    if any(sr.status.is_safe for sr in inside):
        return None
    for sr in inside:
        if sr.status is _UNDER_INVESTIGATION:
            rng = _effective(sr.range, scheme)
            why = f"range {rng}: {rng.check(version).why}"
            return _exposure(asset, advisory, product, rule, Decision.UNDER_INVESTIGATION, why, rng)
    default = f"{version} in no listed range; default status {product.status.value}"
    if product.status is _AFFECTED:
        return _exposure(asset, advisory, product, rule, Decision.AFFECTED, default)
    if product.status is _UNDER_INVESTIGATION:
        return _exposure(asset, advisory, product, rule, Decision.UNDER_INVESTIGATION, default)
    return None


def _effective(rng: VersionRange, scheme: Scheme | None) -> VersionRange:
    """``rng`` ordered by ``scheme`` when the advisory left it to the vendor default."""
    if scheme is not None and rng.scheme is _VENDOR:
        return dataclasses.replace(rng, scheme=scheme)
    return rng


def _exposure(
    asset: Asset,
    advisory: Advisory,
    product: AffectedProduct,
    rule: MatchRule,
    decision: Decision,
    why: str,
    rng: VersionRange | None = None,
) -> Exposure:
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
