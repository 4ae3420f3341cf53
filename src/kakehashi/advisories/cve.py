"""CVE JSON 5.x records into :class:`Advisory` records (issue 6).

Read: ``cveMetadata.cveId``; ``containers.cna`` title/descriptions, ``affected[]``
(vendor, product, ``packageName`` + ``collectionURL``, ``cpes``, ``defaultStatus``,
``versions[]`` with ``version``, ``lessThan``, ``lessThanOrEqual``, ``status``,
``versionType``), ``metrics[]`` CVSS (v4.0, v3.1, v3.0, v2.0; also from ``adp[]``; the
highest base score wins) and ``solutions[]``.

Conventions of the CVE program honoured here: a lower bound of ``0`` or ``*`` means "from
the first version"; ``lessThan: "*"`` means "no upper bound"; an upper bound ``6.1.*``
means "every 6.1 version" (below ``6.2``). ``affected[]`` items whose ranges are all
``versionType: git`` are left out: they name commits, and inventories record releases.
A ``REJECTED`` record yields an advisory with no products. ``changes[]`` splits a range:
from each ``at`` on (up to the next one, or the range's end) the versions have that
change's ``status``.

The first problem is raised as :class:`AdvisoryFormatError` with its JSON path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kakehashi.advisories.errors import AdvisoryFormatError
from kakehashi.advisories.model import Advisory, AffectedProduct, Status, StatusRange
from kakehashi.advisories.versions import VersionRange, scheme_for_version_type
from kakehashi.stix.markings import Tlp

__all__ = ["parse_cve_record"]

_STATUSES = {
    "affected": Status.AFFECTED,
    "unaffected": Status.KNOWN_NOT_AFFECTED,
    "unknown": Status.UNKNOWN,
}
_NO_LOWER = {"", "0", "*"}
_METRICS = ("cvssV4_0", "cvssV3_1", "cvssV3_0", "cvssV2_0")
# collectionURL -> package URL type, for records that name a package (CVE 5.0 schema).
_COLLECTIONS = {
    "https://pypi.org": "pypi",
    "https://pypi.python.org": "pypi",
    "https://www.npmjs.com": "npm",
    "https://registry.npmjs.org": "npm",
    "https://crates.io": "cargo",
    "https://pkg.go.dev": "golang",
    "https://repo.maven.apache.org/maven2": "maven",
    "https://rubygems.org": "gem",
}


def _fail(path: str, reason: str, source: str) -> AdvisoryFormatError:
    return AdvisoryFormatError(reason, path=path, source=source)


def _mapping(value: object, path: str, source: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(path, "must be an object", source)
    return value


def _list(value: object, path: str, source: str) -> Sequence[Any]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail(path, "must be an array", source)
    return value


def _str(obj: Mapping[str, Any], key: str, path: str, source: str, *, required: bool) -> str:
    value = obj.get(key)
    if value is None:
        if required:
            raise _fail(f"{path}.{key}", "is required", source)
        return ""
    if not isinstance(value, str):
        raise _fail(f"{path}.{key}", "must be a string", source)
    return value


def parse_cve_record(record: object, *, source: str = "") -> Advisory:
    """Build an :class:`Advisory` from one decoded CVE JSON 5.x record.

    Args:
        record: the decoded JSON document.
        source: file name for error messages and ``Advisory.source`` (default ``cve``).

    Raises:
        AdvisoryFormatError: with ``path`` of the first problem, e.g.
            ``$.containers.cna.affected[0].versions[1].status``.
    """
    doc = _mapping(record, "$", source)
    if _str(doc, "dataType", "$", source, required=False) not in ("", "CVE_RECORD"):
        raise _fail("$.dataType", "must be CVE_RECORD", source)
    meta = _mapping(doc.get("cveMetadata"), "$.cveMetadata", source)
    cve_id = _str(meta, "cveId", "$.cveMetadata", source, required=True)
    state = _str(meta, "state", "$.cveMetadata", source, required=False)
    containers = _mapping(doc.get("containers"), "$.containers", source)
    cna = _mapping(containers.get("cna"), "$.containers.cna", source)
    base = Advisory(id=cve_id, source=source or "cve", cve_ids=(cve_id,), tlp=Tlp.CLEAR)
    if state == "REJECTED":
        return base
    title = _str(cna, "title", "$.containers.cna", source, required=False)
    if not title:
        title = _english(cna.get("descriptions"), "$.containers.cna.descriptions", source)
    remediation = _english(cna.get("solutions"), "$.containers.cna.solutions", source)
    products: list[AffectedProduct] = []
    for i, item in enumerate(_list(cna.get("affected"), "$.containers.cna.affected", source)):
        product = _affected(item, f"$.containers.cna.affected[{i}]", source, remediation)
        if product is not None:
            products.append(product)
    score, severity = _metrics(cna.get("metrics"), "$.containers.cna.metrics", source)
    adps = _list(containers.get("adp"), "$.containers.adp", source)
    for i, adp in enumerate(adps):
        path = f"$.containers.adp[{i}]"
        adp_score, adp_severity = _metrics(
            _mapping(adp, path, source).get("metrics"), f"{path}.metrics", source
        )
        if adp_score is not None and (score is None or adp_score > score):
            score, severity = adp_score, adp_severity
    return Advisory(
        id=cve_id,
        source=base.source,
        title=title,
        cve_ids=(cve_id,),
        severity=severity,
        cvss=score,
        tlp=Tlp.CLEAR,
        products=tuple(products),
    )


def _english(value: object, path: str, source: str) -> str:
    texts = _list(value, path, source)
    for i, entry in enumerate(texts):
        item = _mapping(entry, f"{path}[{i}]", source)
        if _str(item, "lang", f"{path}[{i}]", source, required=False).lower().startswith("en"):
            return _str(item, "value", f"{path}[{i}]", source, required=True)
    return ""


def _metrics(value: object, path: str, source: str) -> tuple[float | None, str]:
    best: tuple[float | None, str] = (None, "")
    for i, entry in enumerate(_list(value, path, source)):
        metric = _mapping(entry, f"{path}[{i}]", source)
        for key in _METRICS:
            if key not in metric:
                continue
            where = f"{path}[{i}].{key}"
            cvss = _mapping(metric[key], where, source)
            score = cvss.get("baseScore")
            if isinstance(score, bool) or not isinstance(score, int | float):
                raise _fail(f"{where}.baseScore", "must be a number", source)
            if not 0 <= score <= 10:
                raise _fail(f"{where}.baseScore", "must be between 0 and 10", source)
            severity = _str(cvss, "baseSeverity", where, source, required=False).lower()
            if best[0] is None or score > best[0]:
                best = (float(score), severity)
    return best


def _affected(item: object, path: str, source: str, remediation: str) -> AffectedProduct | None:
    entry = _mapping(item, path, source)
    vendor = _str(entry, "vendor", path, source, required=False)
    product = _str(entry, "product", path, source, required=False)
    package = _str(entry, "packageName", path, source, required=False)
    collection = _str(entry, "collectionURL", path, source, required=False)
    if not product and not package:
        raise _fail(path, "needs product or packageName", source)
    cpes = tuple(
        _as_str(c, f"{path}.cpes[{i}]", source)
        for i, c in enumerate(_list(entry.get("cpes"), f"{path}.cpes", source))
    )
    default = _status(entry, "defaultStatus", path, source, Status.UNKNOWN)
    raw_versions = _list(entry.get("versions"), f"{path}.versions", source)
    ranges: list[StatusRange] = []
    version_types: set[str] = set()
    for i, raw in enumerate(raw_versions):
        where = f"{path}.versions[{i}]"
        version_entry = _mapping(raw, where, source)
        version_type = _str(version_entry, "versionType", where, source, required=False)
        version_types.add(version_type.lower())
        ranges.extend(_ranges(version_entry, where, source))
    if ranges and version_types == {"git"}:
        return None
    purl = ""
    purl_type = _COLLECTIONS.get(collection.rstrip("/").lower())
    if package and purl_type:
        purl = f"pkg:{purl_type}/{package}"
    fixed = ""
    for status_range in ranges:
        rng = status_range.range
        if status_range.status is Status.AFFECTED and rng.upper and not rng.upper_inclusive:
            fixed = rng.upper
            break
    return AffectedProduct(
        vendor=vendor,
        product=product or package,
        cpes=cpes,
        purl=purl,
        ranges=tuple(ranges),
        status=default,
        fixed_version=fixed,
        remediation=remediation,
    )


def _as_str(value: object, path: str, source: str) -> str:
    if not isinstance(value, str):
        raise _fail(path, "must be a string", source)
    return value


def _status(
    entry: Mapping[str, Any], key: str, path: str, source: str, default: Status | None
) -> Status:
    text = _str(entry, key, path, source, required=default is None)
    if not text and default is not None:
        return default
    try:
        return _STATUSES[text]
    except KeyError:
        raise _fail(f"{path}.{key}", "must be affected, unaffected or unknown", source) from None


def _ranges(entry: Mapping[str, Any], path: str, source: str) -> list[StatusRange]:
    """One ``versions[]`` entry: its range, split where its ``changes[]`` say."""
    version = _str(entry, "version", path, source, required=True)
    status = _status(entry, "status", path, source, None)
    scheme = scheme_for_version_type(
        _str(entry, "versionType", path, source, required=False) or None
    )
    less_than = _str(entry, "lessThan", path, source, required=False)
    less_equal = _str(entry, "lessThanOrEqual", path, source, required=False)
    if less_than and less_equal:
        raise _fail(path, "has both lessThan and lessThanOrEqual", source)
    changes = _changes(entry, path, source)
    upper: str | None = less_than or less_equal
    if not upper and not changes:
        if version == "*":
            return [StatusRange(VersionRange(scheme=scheme), status)]
        return [StatusRange(VersionRange.exact(version, scheme), status)]
    lower = None if version in _NO_LOWER else version
    inclusive = bool(less_equal)
    if upper == "*":
        upper, inclusive = None, False
    elif upper and upper.endswith(".*"):
        # "6.1.*" is every 6.1 version, so the range ends before 6.2.
        head, _, last = upper[:-2].rpartition(".")
        if last.isdigit():
            upper = f"{head}.{int(last) + 1}" if head else str(int(last) + 1)
            inclusive = False
    # From each change on, its status holds up to the next change or the range's end.
    starts = [(lower, status), *changes]
    ranges: list[StatusRange] = []
    for i, (start, start_status) in enumerate(starts):
        last_one = i == len(starts) - 1
        end = upper if last_one else starts[i + 1][0]
        rng = VersionRange(start, end, True, inclusive and last_one, scheme)
        ranges.append(StatusRange(rng, start_status))
    return ranges


def _changes(entry: Mapping[str, Any], path: str, source: str) -> list[tuple[str, Status]]:
    found: list[tuple[str, Status]] = []
    for i, raw in enumerate(_list(entry.get("changes"), f"{path}.changes", source)):
        where = f"{path}.changes[{i}]"
        change = _mapping(raw, where, source)
        at = _str(change, "at", where, source, required=True)
        if not at:
            raise _fail(f"{where}.at", "must not be empty", source)
        found.append((at, _status(change, "status", where, source, None)))
    return found
