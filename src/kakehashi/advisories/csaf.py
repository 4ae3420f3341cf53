"""CSAF 2.0 and 2.1 documents into :class:`Advisory` records, one per vulnerability (issue 6).

Read from ``document``: ``category``, ``csaf_version`` (``2.0`` or ``2.1``), ``publisher``
(category, name, namespace), ``title``, ``tracking`` (id, status, version,
``revision_history[]``, ``initial_release_date``, ``current_release_date``),
``distribution.tlp.label`` and ``aggregate_severity.text``; in 2.1 also the top-level
``$schema``. From ``product_tree``: ``branches`` (any depth; the ``vendor`` and
``product_name`` ancestors name the product, the nearest ``product_version`` or
``product_version_range`` ancestor gives its versions), ``full_product_names``,
``relationships`` (2.0 and early 2.1 drafts), ``product_paths`` (2.1) and
``product_groups``; per product ``product_identification_helper.cpe``, ``purl`` (2.0) and
``purls`` (2.1). From each ``vulnerabilities[]`` entry: ``cve``, ``ids[]``, ``title``,
``product_status``, ``remediations[]``, ``scores[]`` (2.0: ``cvss_v3``/``cvss_v2``) and
``metrics[]`` (2.1: ``content.cvss_v4``/``cvss_v3``/``cvss_v2`` and
``qualitative_severity_rating``). Everything else (notes, threats, flags, references,
acknowledgments, SSVC, EPSS, extensions) is left alone, but product ids it names must exist.

One :class:`Advisory` per vulnerability, because product status is per vulnerability. Its
``id`` is ``<tracking.id>#<cve>``, else ``<tracking.id>#<first ids[].text>``, else
``<tracking.id>#<index>``; ``source`` is the caller's (default ``csaf``).

Versions. ``product_version`` is an exact version; ``product_version_range`` in ``vers:``
form is parsed by :mod:`kakehashi.advisories.vers` into one or more ranges. Free-text
ranges (CSAF's ``vls``) and ``vers`` that do not parse become a range that cannot be
evaluated, so the matcher says "cannot decide", never "not affected". A product with
neither takes the version of its package URL, else of its CPE; with none at all it
stands for every version. Versions are ordered by the package URL's ecosystem when the
product has one (``deb`` -> Debian, ``npm`` -> semver), else by the vendor scheme.

Product status. ``known_affected`` -> affected; ``first_affected v`` -> affected from ``v``
and ``last_affected v`` -> affected up to ``v`` (inclusive), paired with the nearest
``last_affected``/``first_fixed`` above so that two release lines stay two intervals;
``first_fixed v`` -> fixed from ``v`` on (and the product's ``fixed_version``); ``fixed``
-> fixed (an exact ``fixed`` version is a backport and wins over an affected range);
``recommended`` -> fixed too: the spec defines it as versions that carry the fix and that
the vendor recommends; ``known_not_affected`` -> not affected; ``under_investigation`` ->
under investigation; 2.1 ``unknown`` adds nothing. Versions the document does not list
keep the default status ``unknown``: not exposed, as CSAF means it.

All product ids that name the same vendor, product, package URL and platform become one
:class:`AffectedProduct` with several ranges, so the matcher's rules (an exact fixed
entry wins, ...) apply across them. A relationship's (or product path's) product id stands
for its component -- the thing an inventory lists -- installed on or part of a platform;
it is kept apart per platform, and the remediation text says which platform it is.

TLP: 2.0 ``WHITE`` is ``CLEAR``; 2.1 adds ``AMBER+STRICT``. 2.1 requires the label. A 2.0
document without one is read as :data:`TLP_WHEN_ABSENT` (``AMBER``): the spec's 2.0 -> 2.1
conversion rule would write ``CLEAR`` but asks the converter to warn, and recommended test
6.2.10 flags the gap; a hub that re-shares must not widen a distribution on a guess.

Validation follows the CSAF JSON schema for the members read (required members, types,
enumerations, non-empty arrays) plus mandatory tests 6.1.1 (every product id used is
defined), 6.1.2 (defined once), 6.1.3 (no circular relationship) and 6.1.4 (every product
group id used is defined). The first problem is raised as :class:`AdvisoryFormatError`
with its JSON path; callers report it and skip the document.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kakehashi.advisories.csaf_tree import (
    STATUS_KEYS,
    Product,
    Reader,
    Tree,
    check_references,
    fail,
    identifier_version,
    product_tree,
)
from kakehashi.advisories.errors import CannotDecide
from kakehashi.advisories.model import Advisory, AffectedProduct, Status, StatusRange
from kakehashi.advisories.versions import VersionRange, compare
from kakehashi.stix.markings import Tlp

__all__ = ["CSAF_VERSIONS", "TLP_WHEN_ABSENT", "csaf_version", "parse_csaf"]

CSAF_VERSIONS = ("2.0", "2.1")
#: The TLP of a CSAF 2.0 document that gives none (see the module docstring).
TLP_WHEN_ABSENT = Tlp.AMBER

_TLP = {
    "2.0": {"WHITE": Tlp.CLEAR, "GREEN": Tlp.GREEN, "AMBER": Tlp.AMBER, "RED": Tlp.RED},
    "2.1": {
        "CLEAR": Tlp.CLEAR,
        "GREEN": Tlp.GREEN,
        "AMBER": Tlp.AMBER,
        "AMBER+STRICT": Tlp.AMBER_STRICT,
        "RED": Tlp.RED,
    },
}
_PUBLISHERS = {
    "2.0": ("coordinator", "discoverer", "other", "translator", "user", "vendor"),
    "2.1": ("coordinator", "discoverer", "multiplier", "other", "translator", "user", "vendor"),
}
_REMEDIATIONS = {
    "2.0": ("mitigation", "no_fix_planned", "none_available", "vendor_fix", "workaround"),
    "2.1": (
        "fix_planned", "mitigation", "no_fix_planned", "none_available", "optional_patch",
        "vendor_fix", "workaround",
    ),
}  # fmt: skip
_STATUSES = {
    "known_affected": Status.AFFECTED,
    "first_affected": Status.AFFECTED,
    "last_affected": Status.AFFECTED,
    "fixed": Status.FIXED,
    "first_fixed": Status.FIXED,
    "recommended": Status.FIXED,
    "known_not_affected": Status.KNOWN_NOT_AFFECTED,
    "under_investigation": Status.UNDER_INVESTIGATION,
}
_CVSS = {"2.0": ("cvss_v3", "cvss_v2"), "2.1": ("cvss_v4", "cvss_v3", "cvss_v2")}
_QUALITATIVE = ("none", "low", "medium", "high", "critical")
_TRACKING_STATUS = ("draft", "final", "interim")
_CVE = re.compile(r"CVE-[0-9]{4}-[0-9]{4,}")
_NUM = r"(?:0|[1-9][0-9]*)"
_IDENT = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_VERSION_T = re.compile(
    rf"{_NUM}|{_NUM}\.{_NUM}\.{_NUM}(?:-{_IDENT}(?:\.{_IDENT})*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)


def csaf_version(document: object, *, source: str = "") -> str:
    """The ``document.csaf_version`` of a decoded CSAF document: ``"2.0"`` or ``"2.1"``.

    Raises:
        AdvisoryFormatError: not a CSAF document, or a version this module does not read.
    """
    read = Reader(source)
    doc = read.mapping(document, "$")
    meta = read.mapping(doc.get("document"), "$.document")
    return read.text(meta, "csaf_version", "$.document", required=True, choices=CSAF_VERSIONS)


def parse_csaf(document: object, *, source: str = "") -> list[Advisory]:
    """Build one :class:`Advisory` per ``vulnerabilities[]`` entry of a CSAF document.

    Args:
        document: the decoded JSON document (2.0 or 2.1).
        source: file name for error messages and ``Advisory.source`` (default ``csaf``).

    Raises:
        AdvisoryFormatError: with ``path`` of the first problem, e.g.
            ``$.document.tracking.id`` or ``$.vulnerabilities[0].product_status.fixed[2]``.
    """
    read = Reader(source)
    version = csaf_version(document, source=source)
    doc = read.mapping(document, "$")
    meta = read.mapping(doc["document"], "$.document")
    tracking_id, title, tlp, aggregate = _document(read, doc, meta, version)
    tree = product_tree(read, doc, version)
    vulnerabilities = read.array(doc, "vulnerabilities", "$")
    check_references(read, doc, tree)
    advisories: list[Advisory] = []
    for i, entry in enumerate(vulnerabilities):
        path = f"$.vulnerabilities[{i}]"
        vuln = read.mapping(entry, path)
        advisories.append(
            _vulnerability(read, vuln, path, i, tree, version, tracking_id, title, tlp, aggregate)
        )
    return advisories


# --- document ---------------------------------------------------------------------------


def _document(
    read: Reader, doc: Mapping[str, Any], meta: Mapping[str, Any], version: str
) -> tuple[str, str, Tlp, str]:
    """Check ``document`` (and 2.1's ``$schema``); return tracking id, title, TLP, severity."""
    if version == "2.1":
        read.text(doc, "$schema", "$", required=True)
    path = "$.document"
    read.text(meta, "category", path, required=True)
    publisher = read.mapping(meta.get("publisher"), f"{path}.publisher")
    read.text(
        publisher, "category", f"{path}.publisher", required=True, choices=_PUBLISHERS[version]
    )
    read.text(publisher, "name", f"{path}.publisher", required=True)
    read.text(publisher, "namespace", f"{path}.publisher", required=True)
    title = read.text(meta, "title", path, required=True)
    tracking_path = f"{path}.tracking"
    tracking = read.mapping(meta.get("tracking"), tracking_path)
    tracking_id = read.text(tracking, "id", tracking_path, required=True)
    read.text(tracking, "status", tracking_path, required=True, choices=_TRACKING_STATUS)
    _version_t(read, tracking, "version", tracking_path)
    read.text(tracking, "initial_release_date", tracking_path, required=True)
    read.text(tracking, "current_release_date", tracking_path, required=True)
    if "revision_history" not in tracking:
        raise fail(f"{tracking_path}.revision_history", "is required", read.source)
    history = read.array(tracking, "revision_history", tracking_path)
    for i, item in enumerate(history):
        where = f"{tracking_path}.revision_history[{i}]"
        revision = read.mapping(item, where)
        read.text(revision, "date", where, required=True)
        _version_t(read, revision, "number", where)
        read.text(revision, "summary", where, required=True)
    tlp = _tlp(read, meta, version)
    aggregate = ""
    if "aggregate_severity" in meta:
        severity = read.mapping(meta["aggregate_severity"], f"{path}.aggregate_severity")
        aggregate = read.text(severity, "text", f"{path}.aggregate_severity", required=True)
    return tracking_id, title, tlp, aggregate.lower()


def _version_t(read: Reader, obj: Mapping[str, Any], key: str, path: str) -> None:
    text = read.text(obj, key, path, required=True)
    if not _VERSION_T.fullmatch(text):
        raise fail(f"{path}.{key}", "must be an integer or a semantic version", read.source)


def _tlp(read: Reader, meta: Mapping[str, Any], version: str) -> Tlp:
    path = "$.document.distribution"
    if "distribution" not in meta:
        if version == "2.1":
            raise fail(path, "is required", read.source)
        return TLP_WHEN_ABSENT
    distribution = read.mapping(meta["distribution"], path)
    if "tlp" not in distribution:
        if version == "2.1":
            raise fail(f"{path}.tlp", "is required", read.source)
        return TLP_WHEN_ABSENT
    tlp = read.mapping(distribution["tlp"], f"{path}.tlp")
    labels = _TLP[version]
    label = read.text(tlp, "label", f"{path}.tlp", required=True, choices=tuple(labels))
    return labels[label]


# --- vulnerabilities --------------------------------------------------------------------


def _vulnerability(
    read: Reader,
    vuln: Mapping[str, Any],
    path: str,
    index: int,
    tree: Tree,
    version: str,
    tracking_id: str,
    document_title: str,
    tlp: Tlp,
    aggregate: str,
) -> Advisory:
    cve = read.text(vuln, "cve", path)
    if cve and not _CVE.fullmatch(cve):
        raise fail(f"{path}.cve", "must look like CVE-2024-12345", read.source)
    first_id = ""
    for i, item in enumerate(read.array(vuln, "ids", path)):
        where = f"{path}.ids[{i}]"
        entry = read.mapping(item, where)
        read.text(entry, "system_name", where, required=True)
        text = read.text(entry, "text", where, required=True)
        first_id = first_id or text
    title = read.text(vuln, "title", path) or document_title
    statuses = _product_status(read, vuln, path, tree)
    remediations = _remediations(read, vuln, path, tree, version)
    score, severity = _scores(read, vuln, path, version)
    return Advisory(
        id=f"{tracking_id}#{cve or first_id or index}",
        source=read.source or "csaf",
        title=title,
        cve_ids=(cve,) if cve else (),
        severity=severity or aggregate,
        cvss=score,
        tlp=tlp,
        products=_affected_products(statuses, remediations),
    )


def _product_status(
    read: Reader, vuln: Mapping[str, Any], path: str, tree: Tree
) -> list[tuple[str, Product]]:
    """``(status member, product)`` pairs in :data:`STATUS_KEYS` order, each pair once."""
    if "product_status" not in vuln:
        return []
    where = f"{path}.product_status"
    status = read.mapping(vuln["product_status"], where)
    if not status:
        raise fail(where, "must not be empty", read.source)
    pairs: list[tuple[str, Product]] = []
    for key in STATUS_KEYS:
        seen: set[str] = set()
        for product_id in read.ids(status, key, where):
            if key != "unknown" and product_id not in seen:
                seen.add(product_id)
                pairs.append((key, tree.products[product_id]))
    return pairs


def _remediations(
    read: Reader, vuln: Mapping[str, Any], path: str, tree: Tree, version: str
) -> dict[str, list[str]]:
    """Remediation texts per product id, in document order."""
    texts: dict[str, list[str]] = {}
    for i, item in enumerate(read.array(vuln, "remediations", path)):
        where = f"{path}.remediations[{i}]"
        entry = read.mapping(item, where)
        category = read.text(
            entry, "category", where, required=True, choices=_REMEDIATIONS[version]
        )
        details = read.text(entry, "details", where, required=True)
        url = read.text(entry, "url", where)
        text = f"{category}: {details}" + (f" ({url})" if url else "")
        product_ids = list(read.ids(entry, "product_ids", where))
        for group_id in read.ids(entry, "group_ids", where):
            product_ids.extend(tree.groups[group_id])
        for product_id in product_ids:
            bucket = texts.setdefault(product_id, [])
            if text not in bucket:
                bucket.append(text)
    return texts


def _scores(
    read: Reader, vuln: Mapping[str, Any], path: str, version: str
) -> tuple[float | None, str]:
    """The highest CVSS base score, with its severity (else the highest qualitative one)."""
    best: tuple[float | None, str] = (None, "")
    qualitative = ""
    member = "scores" if version == "2.0" else "metrics"
    for i, item in enumerate(read.array(vuln, member, path)):
        where = f"{path}.{member}[{i}]"
        entry = read.mapping(item, where)
        if "products" not in entry:
            raise fail(f"{where}.products", "is required", read.source)
        read.ids(entry, "products", where)
        if version == "2.1":
            where = f"{where}.content"
            entry = read.mapping(entry.get("content"), where)
            rating = read.text(entry, "qualitative_severity_rating", where, choices=_QUALITATIVE)
            if rating and (
                not qualitative or _QUALITATIVE.index(rating) > _QUALITATIVE.index(qualitative)
            ):
                qualitative = rating
        for key in _CVSS[version]:
            if key not in entry:
                continue
            at = f"{where}.{key}"
            cvss = read.mapping(entry[key], at)
            score = cvss.get("baseScore")
            if isinstance(score, bool) or not isinstance(score, int | float):
                raise fail(f"{at}.baseScore", "must be a number", read.source)
            if not 0 <= score <= 10:
                raise fail(f"{at}.baseScore", "must be between 0 and 10", read.source)
            read.text(cvss, "version", at, required=True)
            read.text(cvss, "vectorString", at, required=True)
            severity = read.text(cvss, "baseSeverity", at, required=key != "cvss_v2").lower()
            if best[0] is None or score > best[0]:
                best = (float(score), severity)
    return best[0], best[1] or qualitative


# --- affected products ------------------------------------------------------------------

_GroupKey = tuple[str, str, str, str]


def _purl_base(text: str) -> str:
    """A package URL without version, qualifiers and subpath."""
    body = text.split("#", 1)[0].split("?", 1)[0]
    head, _, last = body.rpartition("/")
    return f"{head}/{last.split('@', 1)[0]}"


def _affected_products(
    pairs: list[tuple[str, Product]], remediations: Mapping[str, list[str]]
) -> tuple[AffectedProduct, ...]:
    groups: dict[_GroupKey, list[tuple[str, Product]]] = {}
    for key, product in pairs:
        for purl in product.purls or ("",):
            group = (
                product.vendor,
                product.product,
                _purl_base(purl) if purl else "",
                product.context,
            )
            groups.setdefault(group, []).append((key, product))
    return tuple(_group(key, members, remediations) for key, members in groups.items())


def _group(
    key: _GroupKey, members: list[tuple[str, Product]], remediations: Mapping[str, list[str]]
) -> AffectedProduct:
    vendor, name, purl, context = key
    ranges: list[StatusRange] = []
    starts: list[Product] = []
    ends: list[tuple[Product, bool]] = []  # (product, inclusive)
    fixed_version = recommended = ""
    for status_key, product in members:
        exact = product.version
        if status_key == "first_affected" and exact:
            starts.append(product)
        elif status_key == "last_affected" and exact:
            ends.append((product, True))
        elif status_key == "first_fixed" and exact:
            ends.append((product, False))
            ranges.append(
                StatusRange(VersionRange(exact, None, scheme=product.scheme), Status.FIXED)
            )
            fixed_version = fixed_version or exact
        else:
            status = _STATUSES[status_key]
            ranges.extend(StatusRange(rng, status) for rng in product.ranges())
            if status_key == "recommended" and exact:
                recommended = recommended or exact
    ranges[:0] = _affected_intervals(starts, ends)
    cpes = tuple(dict.fromkeys(p.cpe for _, p in members if p.cpe))
    product_ids = tuple(dict.fromkeys(p.product_id for _, p in members))
    texts = [t for pid in product_ids for t in remediations.get(pid, [])]
    remediation = " ".join(dict.fromkeys(texts))
    if context:
        remediation = f"For {name} as {context}. {remediation}".strip()
    status = Status.UNKNOWN
    statuses = {sr.status for sr in ranges}
    all_versions = all(sr.range.lower is None and sr.range.upper is None for sr in ranges)
    cpe_versions = any(identifier_version(c, ()) for c in cpes)
    if ranges and all_versions and len(statuses) == 1 and not cpe_versions:
        # "every version" in one status: the product's default status says it best, and
        # the matcher then needs no version on the asset to call it affected.
        status, ranges = statuses.pop(), []
    return AffectedProduct(
        vendor=vendor,
        product=name,
        cpes=cpes,
        purl=purl,
        ranges=tuple(ranges),
        status=status,
        fixed_version=fixed_version or recommended,
        remediation=remediation,
        product_ids=product_ids,
    )


def _affected_intervals(
    starts: list[Product], ends: list[tuple[Product, bool]]
) -> list[StatusRange]:
    """Pair each ``first_affected`` with the nearest ``last_affected``/``first_fixed`` above.

    Ends no start claims stand alone (``last_affected v`` -> up to ``v``). When versions
    cannot be ordered, starts and ends stay unpaired: that reports more, never less.
    """
    out: list[StatusRange] = []
    used: set[int] = set()
    for start in starts:
        scheme = start.scheme
        best: int | None = None
        try:
            for i, (end, inclusive) in enumerate(ends):
                order = compare(end.version, start.version, scheme)
                if order < 0 or (order == 0 and not inclusive):
                    continue
                if best is None or compare(end.version, ends[best][0].version, scheme) < 0:
                    best = i
        except CannotDecide:
            best = None
        if best is None:
            out.append(
                StatusRange(VersionRange(start.version, None, scheme=scheme), Status.AFFECTED)
            )
            continue
        used.add(best)
        end, inclusive = ends[best]
        out.append(
            StatusRange(
                VersionRange(start.version, end.version, True, inclusive, scheme), Status.AFFECTED
            )
        )
    for i, (end, inclusive) in enumerate(ends):
        if inclusive and i not in used:
            out.append(
                StatusRange(
                    VersionRange.less_than_or_equal(end.version, scheme=end.scheme), Status.AFFECTED
                )
            )
    return out
