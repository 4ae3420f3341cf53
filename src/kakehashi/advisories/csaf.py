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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kakehashi.advisories.errors import AdvisoryFormatError, CannotDecide
from kakehashi.advisories.matcher import parse_cpe, parse_purl
from kakehashi.advisories.model import Advisory, AffectedProduct, Status, StatusRange
from kakehashi.advisories.vers import parse_vers
from kakehashi.advisories.versions import Scheme, VersionRange, compare, scheme_for_purl_type
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
_BRANCH_CATEGORIES = {
    "2.0": (
        "architecture", "host_name", "language", "legacy", "patch_level", "product_family",
        "product_name", "product_version", "product_version_range", "service_pack",
        "specification", "vendor",
    ),
    "2.1": (
        "architecture", "host_name", "language", "patch_level", "platform", "product_family",
        "product_name", "product_version", "product_version_range", "service_pack",
        "specification", "vendor",
    ),
}  # fmt: skip
_RELATIONSHIPS = (
    "default_component_of",
    "external_component_of",
    "installed_on",
    "installed_with",
    "optional_component_of",
)
_REMEDIATIONS = {
    "2.0": ("mitigation", "no_fix_planned", "none_available", "vendor_fix", "workaround"),
    "2.1": (
        "fix_planned", "mitigation", "no_fix_planned", "none_available", "optional_patch",
        "vendor_fix", "workaround",
    ),
}  # fmt: skip
# product_status members in the order their ranges are listed.
_STATUS_KEYS = (
    "known_affected",
    "first_affected",
    "last_affected",
    "fixed",
    "first_fixed",
    "recommended",
    "known_not_affected",
    "under_investigation",
    "unknown",
)
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
# Members that hold product ids (6.1.1) or product group ids (6.1.4) in a vulnerability.
_ID_LISTS = ("product_ids", "products", *_STATUS_KEYS)
_SKIP = ("x_extensions", "content")


def _fail(path: str, reason: str, source: str) -> AdvisoryFormatError:
    return AdvisoryFormatError(reason, path=path, source=source)


@dataclass(frozen=True, slots=True)
class _Reader:
    """Typed access to decoded JSON that raises with the JSON path of the fault."""

    source: str

    def mapping(self, value: object, path: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise _fail(path, "must be an object", self.source)
        return value

    def array(self, obj: Mapping[str, Any], key: str, path: str) -> Sequence[Any]:
        """An optional array member; present means non-empty (``minItems: 1``)."""
        value = obj.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            raise _fail(f"{path}.{key}", "must be an array", self.source)
        if not value:
            raise _fail(f"{path}.{key}", "must not be empty", self.source)
        return value

    def text(
        self,
        obj: Mapping[str, Any],
        key: str,
        path: str,
        *,
        required: bool = False,
        choices: Sequence[str] = (),
    ) -> str:
        value = obj.get(key)
        where = f"{path}.{key}"
        if value is None:
            if required:
                raise _fail(where, "is required", self.source)
            return ""
        if not isinstance(value, str):
            raise _fail(where, "must be a string", self.source)
        if not value:
            raise _fail(where, "must not be empty", self.source)
        if choices and value not in choices:
            raise _fail(where, f"must be one of {', '.join(choices)}", self.source)
        return value

    def ids(self, obj: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        """A ``products_t`` / ``product_groups_t`` member: non-empty strings."""
        out: list[str] = []
        for i, item in enumerate(self.array(obj, key, path)):
            if not isinstance(item, str) or not item:
                raise _fail(f"{path}.{key}[{i}]", "must be a non-empty string", self.source)
            out.append(item)
        return tuple(out)


@dataclass(frozen=True, slots=True)
class _Product:
    """A product id of the tree, resolved to what an inventory would list."""

    product_id: str
    name: str
    vendor: str = ""
    product: str = ""
    cpe: str = ""
    purls: tuple[str, ...] = ()
    version: str = ""
    range_text: str = ""
    #: for a relationship / product path: "default_component_of <platform> (<id>)"
    context: str = ""

    @property
    def scheme(self) -> Scheme:
        """The package URL's ecosystem order, else the vendor scheme."""
        for text in self.purls:
            purl = parse_purl(text)
            if purl is not None:
                scheme = scheme_for_purl_type(purl.type)
                return Scheme.VENDOR if scheme is Scheme.UNSUPPORTED else scheme
        return Scheme.VENDOR

    def ranges(self) -> tuple[VersionRange, ...]:
        """The versions this product id stands for, as ranges (see the module docstring)."""
        scheme = self.scheme
        if self.version:
            return (VersionRange.exact(self.version, scheme),)
        if self.range_text:
            try:
                return parse_vers(self.range_text).ranges
            except CannotDecide:
                # vls free text or a broken vers: a bound no comparator orders, so every
                # check raises CannotDecide and the matcher reports "cannot decide".
                return (VersionRange.exact(self.range_text, Scheme.UNSUPPORTED),)
        return (VersionRange(scheme=scheme),)


@dataclass(slots=True)
class _Tree:
    """The product tree: product ids to products, and group ids to product ids."""

    products: dict[str, _Product] = field(default_factory=dict)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)


def csaf_version(document: object, *, source: str = "") -> str:
    """The ``document.csaf_version`` of a decoded CSAF document: ``"2.0"`` or ``"2.1"``.

    Raises:
        AdvisoryFormatError: not a CSAF document, or a version this module does not read.
    """
    read = _Reader(source)
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
    read = _Reader(source)
    version = csaf_version(document, source=source)
    doc = read.mapping(document, "$")
    meta = read.mapping(doc["document"], "$.document")
    tracking_id, title, tlp, aggregate = _document(read, doc, meta, version)
    tree = _product_tree(read, doc, version)
    vulnerabilities = read.array(doc, "vulnerabilities", "$")
    _check_references(read, doc, tree)
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
    read: _Reader, doc: Mapping[str, Any], meta: Mapping[str, Any], version: str
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
        raise _fail(f"{tracking_path}.revision_history", "is required", read.source)
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


def _version_t(read: _Reader, obj: Mapping[str, Any], key: str, path: str) -> None:
    text = read.text(obj, key, path, required=True)
    if not _VERSION_T.fullmatch(text):
        raise _fail(f"{path}.{key}", "must be an integer or a semantic version", read.source)


def _tlp(read: _Reader, meta: Mapping[str, Any], version: str) -> Tlp:
    path = "$.document.distribution"
    if "distribution" not in meta:
        if version == "2.1":
            raise _fail(path, "is required", read.source)
        return TLP_WHEN_ABSENT
    distribution = read.mapping(meta["distribution"], path)
    if "tlp" not in distribution:
        if version == "2.1":
            raise _fail(f"{path}.tlp", "is required", read.source)
        return TLP_WHEN_ABSENT
    tlp = read.mapping(distribution["tlp"], f"{path}.tlp")
    labels = _TLP[version]
    label = read.text(tlp, "label", f"{path}.tlp", required=True, choices=tuple(labels))
    return labels[label]


# --- product tree -----------------------------------------------------------------------


def _product_tree(read: _Reader, doc: Mapping[str, Any], version: str) -> _Tree:
    tree = _Tree()
    if "product_tree" not in doc:
        return tree
    path = "$.product_tree"
    root = read.mapping(doc["product_tree"], path)
    if not root:
        raise _fail(path, "must not be empty", read.source)
    if "branches" in root:
        _branches(read, root, path, version, tree)
    for i, item in enumerate(read.array(root, "full_product_names", path)):
        _define(read, tree, item, f"{path}.full_product_names[{i}]", {})
    links = _links(read, root, path)
    for i, item in enumerate(read.array(root, "product_groups", path)):
        where = f"{path}.product_groups[{i}]"
        group = read.mapping(item, where)
        group_id = read.text(group, "group_id", where, required=True)
        if "product_ids" not in group:
            raise _fail(f"{where}.product_ids", "is required", read.source)
        if group_id in tree.groups:
            raise _fail(f"{where}.group_id", f"group id {group_id!r} defined twice", read.source)
        tree.groups[group_id] = read.ids(group, "product_ids", where)
    _resolve_links(read, tree, links)
    return tree


def _branches(read: _Reader, root: Mapping[str, Any], path: str, version: str, tree: _Tree) -> None:
    """Walk ``branches`` depth first, in document order, without recursion."""
    stack: list[tuple[Mapping[str, Any], str, dict[str, str]]] = [(root, path, {})]
    while stack:
        node, where, names = stack.pop()
        children = read.array(node, "branches", where)
        pending = []
        for i, item in enumerate(children):
            at = f"{where}.branches[{i}]"
            branch = read.mapping(item, at)
            category = read.text(
                branch, "category", at, required=True, choices=_BRANCH_CATEGORIES[version]
            )
            name = read.text(branch, "name", at, required=True)
            inherited = {**names, category: name}
            if category in ("product_version", "product_version_range"):
                inherited["version_from"] = category  # the nearest one wins
            has_product, has_branches = "product" in branch, "branches" in branch
            if has_product == has_branches:
                raise _fail(at, "needs exactly one of branches or product", read.source)
            if has_product:
                _define(read, tree, branch["product"], f"{at}.product", inherited)
            else:
                pending.append((branch, at, inherited))
        stack.extend(reversed(pending))


def _identification(
    read: _Reader, product: Mapping[str, Any], path: str
) -> tuple[str, tuple[str, ...]]:
    """CPE and package URLs of a ``full_product_name_t`` (2.0 ``purl``, 2.1 ``purls``)."""
    if "product_identification_helper" not in product:
        return "", ()
    where = f"{path}.product_identification_helper"
    helper = read.mapping(product["product_identification_helper"], where)
    if not helper:
        raise _fail(where, "must not be empty", read.source)
    cpe = read.text(helper, "cpe", where)
    purls = [read.text(helper, "purl", where)] if "purl" in helper else []
    purls.extend(read.ids(helper, "purls", where))
    for i, purl in enumerate(purls):
        if parse_purl(purl) is None:
            at = f"{where}.purl" if "purl" in helper else f"{where}.purls[{i}]"
            raise _fail(at, "must be a package URL (pkg:type/name)", read.source)
    return cpe, tuple(purls)


def _define(
    read: _Reader, tree: _Tree, value: object, path: str, names: Mapping[str, str]
) -> _Product:
    """Record one ``full_product_name_t``; branches pass the names of the ancestors."""
    product = read.mapping(value, path)
    name = read.text(product, "name", path, required=True)
    product_id = read.text(product, "product_id", path, required=True)
    if product_id in tree.products:
        raise _fail(
            f"{path}.product_id", f"product id {product_id!r} defined twice (6.1.2)", read.source
        )
    cpe, purls = _identification(read, product, path)
    exact = range_text = ""
    if names.get("version_from") == "product_version":
        exact = names["product_version"]
    elif names.get("version_from") == "product_version_range":
        range_text = names["product_version_range"]
    else:
        exact = _identifier_version(cpe, purls)
    resolved = _Product(
        product_id=product_id,
        name=name,
        vendor=names.get("vendor", ""),
        product=names.get("product_name", "") or name,
        cpe=cpe,
        purls=purls,
        version=exact,
        range_text=range_text,
    )
    tree.products[product_id] = resolved
    return resolved


def _identifier_version(cpe: str, purls: Sequence[str]) -> str:
    """The version a package URL (first) or CPE names, or ``""``."""
    for text in purls:
        purl = parse_purl(text)
        if purl is not None and purl.version:
            return purl.version
    parsed = parse_cpe(cpe) if cpe else None
    if parsed is not None and parsed.version not in ("", "*", "-"):
        return parsed.version
    return ""


@dataclass(frozen=True, slots=True)
class _Link:
    """A relationship or product path: ``product_id`` is ``component`` on ``platforms``."""

    product_id: str
    name: str
    cpe: str
    purls: tuple[str, ...]
    component: str
    platforms: tuple[tuple[str, str], ...]  # (category, product id)
    path: str


def _links(read: _Reader, root: Mapping[str, Any], path: str) -> list[_Link]:
    links: list[_Link] = []
    for i, item in enumerate(read.array(root, "relationships", path)):
        where = f"{path}.relationships[{i}]"
        rel = read.mapping(item, where)
        category = read.text(rel, "category", where, required=True, choices=_RELATIONSHIPS)
        component = read.text(rel, "product_reference", where, required=True)
        platform = read.text(rel, "relates_to_product_reference", where, required=True)
        links.append(_link(read, rel, where, component, ((category, platform),)))
    for i, item in enumerate(read.array(root, "product_paths", path)):
        where = f"{path}.product_paths[{i}]"
        entry = read.mapping(item, where)
        component = read.text(entry, "beginning_product_reference", where, required=True)
        if "subpaths" not in entry:
            raise _fail(f"{where}.subpaths", "is required", read.source)
        steps: list[tuple[str, str]] = []
        for j, raw in enumerate(read.array(entry, "subpaths", where)):
            at = f"{where}.subpaths[{j}]"
            step = read.mapping(raw, at)
            category = read.text(step, "category", at, required=True, choices=_RELATIONSHIPS)
            steps.append((category, read.text(step, "next_product_reference", at, required=True)))
        links.append(_link(read, entry, where, component, tuple(steps)))
    return links


def _link(
    read: _Reader,
    entry: Mapping[str, Any],
    path: str,
    component: str,
    platforms: tuple[tuple[str, str], ...],
) -> _Link:
    where = f"{path}.full_product_name"
    product = read.mapping(entry.get("full_product_name"), where)
    name = read.text(product, "name", where, required=True)
    product_id = read.text(product, "product_id", where, required=True)
    cpe, purls = _identification(read, product, where)
    return _Link(product_id, name, cpe, purls, component, platforms, path)


def _resolve_links(read: _Reader, tree: _Tree, links: list[_Link]) -> None:
    """Define each link's product id as its component in context (links may nest)."""
    by_id: dict[str, _Link] = {}
    for link in links:
        if link.product_id in tree.products or link.product_id in by_id:
            raise _fail(
                f"{link.path}.full_product_name.product_id",
                f"product id {link.product_id!r} defined twice (6.1.2)",
                read.source,
            )
        by_id[link.product_id] = link
    resolving: set[str] = set()

    def resolve(product_id: str, path: str) -> _Product:
        if product_id in tree.products:
            return tree.products[product_id]
        link = by_id.get(product_id)
        if link is None:
            raise _fail(path, f"product id {product_id!r} is not defined (6.1.1)", read.source)
        if product_id in resolving:
            raise _fail(
                f"{link.path}.full_product_name.product_id",
                f"product id {product_id!r} is defined through itself (6.1.3)",
                read.source,
            )
        resolving.add(product_id)
        component = resolve(link.component, _reference_path(link, 0))
        contexts = [component.context] if component.context else []
        for i, (category, platform_id) in enumerate(link.platforms, start=1):
            platform = resolve(platform_id, _reference_path(link, i))
            contexts.append(f"{category} {platform.name} ({platform_id})")
        resolving.discard(product_id)
        cpe = component.cpe or link.cpe
        purls = component.purls or link.purls
        version, range_text = component.version, component.range_text
        if not version and not range_text:
            version = _identifier_version(cpe, purls)
        product = _Product(
            product_id=product_id,
            name=link.name,
            vendor=component.vendor,
            product=component.product,
            cpe=cpe,
            purls=purls,
            version=version,
            range_text=range_text,
            context="; ".join(contexts),
        )
        tree.products[product_id] = product
        return product

    for link in links:
        resolve(link.product_id, f"{link.path}.full_product_name.product_id")


def _reference_path(link: _Link, index: int) -> str:
    """The JSON path of a link's ``index``-th reference (0: the component)."""
    if link.path.split(".")[-1].startswith("relationships"):
        key = "product_reference" if index == 0 else "relates_to_product_reference"
        return f"{link.path}.{key}"
    if index == 0:
        return f"{link.path}.beginning_product_reference"
    return f"{link.path}.subpaths[{index - 1}].next_product_reference"


# --- references (mandatory tests 6.1.1, 6.1.4) -----------------------------------------


def _check_references(read: _Reader, doc: Mapping[str, Any], tree: _Tree) -> None:
    """Every product id and product group id a vulnerability names must be defined."""
    if "product_tree" in doc:
        groups = read.array(doc["product_tree"], "product_groups", "$.product_tree")
        for i, group in enumerate(groups):
            where = f"$.product_tree.product_groups[{i}].product_ids"
            for j, product_id in enumerate(group["product_ids"]):
                if product_id not in tree.products:
                    raise _undefined(read, f"{where}[{j}]", product_id)
    for path, key, value in _walk(doc.get("vulnerabilities"), "$.vulnerabilities"):
        if not isinstance(value, list):
            continue  # a type error: the structural checks report it
        known: Mapping[str, object] = tree.groups if key == "group_ids" else tree.products
        for j, item in enumerate(value):
            if isinstance(item, str) and item not in known:
                if key == "group_ids":
                    raise _fail(
                        f"{path}[{j}]", f"product group id {item!r} is not defined (6.1.4)",
                        read.source,
                    )  # fmt: skip
                raise _undefined(read, f"{path}[{j}]", item)


def _undefined(read: _Reader, path: str, product_id: str) -> AdvisoryFormatError:
    return _fail(path, f"product id {product_id!r} is not defined (6.1.1)", read.source)


def _walk(value: object, path: str) -> Iterator[tuple[str, str, object]]:
    """``(path, key, value)`` of every id list member, in document order, no recursion."""
    stack: list[tuple[object, str]] = [(value, path)]
    while stack:
        node, where = stack.pop()
        children: list[tuple[object, str]] = []
        if isinstance(node, Mapping):
            for key, child in node.items():
                at = f"{where}.{key}"
                if key in _ID_LISTS or key == "group_ids":
                    yield at, key, child
                elif key not in _SKIP:
                    children.append((child, at))
        elif isinstance(node, list):
            children = [(child, f"{where}[{i}]") for i, child in enumerate(node)]
        stack.extend(reversed(children))


# --- vulnerabilities --------------------------------------------------------------------


def _vulnerability(
    read: _Reader,
    vuln: Mapping[str, Any],
    path: str,
    index: int,
    tree: _Tree,
    version: str,
    tracking_id: str,
    document_title: str,
    tlp: Tlp,
    aggregate: str,
) -> Advisory:
    cve = read.text(vuln, "cve", path)
    if cve and not _CVE.fullmatch(cve):
        raise _fail(f"{path}.cve", "must look like CVE-2024-12345", read.source)
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
    read: _Reader, vuln: Mapping[str, Any], path: str, tree: _Tree
) -> list[tuple[str, _Product]]:
    """``(status member, product)`` pairs in :data:`_STATUS_KEYS` order, each pair once."""
    if "product_status" not in vuln:
        return []
    where = f"{path}.product_status"
    status = read.mapping(vuln["product_status"], where)
    if not status:
        raise _fail(where, "must not be empty", read.source)
    pairs: list[tuple[str, _Product]] = []
    for key in _STATUS_KEYS:
        seen: set[str] = set()
        for product_id in read.ids(status, key, where):
            if key != "unknown" and product_id not in seen:
                seen.add(product_id)
                pairs.append((key, tree.products[product_id]))
    return pairs


def _remediations(
    read: _Reader, vuln: Mapping[str, Any], path: str, tree: _Tree, version: str
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
    read: _Reader, vuln: Mapping[str, Any], path: str, version: str
) -> tuple[float | None, str]:
    """The highest CVSS base score, with its severity (else the highest qualitative one)."""
    best: tuple[float | None, str] = (None, "")
    qualitative = ""
    member = "scores" if version == "2.0" else "metrics"
    for i, item in enumerate(read.array(vuln, member, path)):
        where = f"{path}.{member}[{i}]"
        entry = read.mapping(item, where)
        if "products" not in entry:
            raise _fail(f"{where}.products", "is required", read.source)
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
                raise _fail(f"{at}.baseScore", "must be a number", read.source)
            if not 0 <= score <= 10:
                raise _fail(f"{at}.baseScore", "must be between 0 and 10", read.source)
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
    pairs: list[tuple[str, _Product]], remediations: Mapping[str, list[str]]
) -> tuple[AffectedProduct, ...]:
    groups: dict[_GroupKey, list[tuple[str, _Product]]] = {}
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
    key: _GroupKey, members: list[tuple[str, _Product]], remediations: Mapping[str, list[str]]
) -> AffectedProduct:
    vendor, name, purl, context = key
    ranges: list[StatusRange] = []
    starts: list[_Product] = []
    ends: list[tuple[_Product, bool]] = []  # (product, inclusive)
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
    cpe_versions = any(_identifier_version(c, ()) for c in cpes)
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
    starts: list[_Product], ends: list[tuple[_Product, bool]]
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
