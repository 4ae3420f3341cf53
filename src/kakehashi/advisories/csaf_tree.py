"""The product tree of a CSAF 2.0 / 2.1 document, and the checks on its product ids.

Part of :mod:`kakehashi.advisories.csaf` (its docstring says what is read and how):
``branches`` (any depth), ``full_product_names``, ``relationships`` / ``product_paths``
(a component on a platform) and ``product_groups`` are resolved into one
:class:`Product` per product id; :func:`check_references` runs the mandatory tests on
ids (6.1.1 every id used is defined, 6.1.2 defined once, 6.1.3 no circular relationship,
6.1.4 every group id used is defined). :class:`Reader` gives typed access to the decoded
JSON and fails with the JSON path of the fault; both modules read through it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kakehashi.advisories.errors import AdvisoryFormatError, CannotDecide
from kakehashi.advisories.matcher import parse_cpe, parse_purl
from kakehashi.advisories.vers import parse_vers
from kakehashi.advisories.versions import Scheme, VersionRange, scheme_for_purl_type

__all__ = [
    "STATUS_KEYS",
    "Product",
    "Reader",
    "Tree",
    "check_references",
    "fail",
    "identifier_version",
    "product_tree",
]

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
# product_status members in the order their ranges are listed.
STATUS_KEYS = (
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
# Members that hold product ids (6.1.1) or product group ids (6.1.4) in a vulnerability.
_ID_LISTS = ("product_ids", "products", *STATUS_KEYS)
_SKIP = ("x_extensions", "content")


def fail(path: str, reason: str, source: str) -> AdvisoryFormatError:
    """The error for the first fault of a document, at its JSON path."""
    return AdvisoryFormatError(reason, path=path, source=source)


@dataclass(frozen=True, slots=True)
class Reader:
    """Typed access to decoded JSON that raises with the JSON path of the fault."""

    source: str

    def mapping(self, value: object, path: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise fail(path, "must be an object", self.source)
        return value

    def array(self, obj: Mapping[str, Any], key: str, path: str) -> Sequence[Any]:
        """An optional array member; present means non-empty (``minItems: 1``)."""
        value = obj.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            raise fail(f"{path}.{key}", "must be an array", self.source)
        if not value:
            raise fail(f"{path}.{key}", "must not be empty", self.source)
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
                raise fail(where, "is required", self.source)
            return ""
        if not isinstance(value, str):
            raise fail(where, "must be a string", self.source)
        if not value:
            raise fail(where, "must not be empty", self.source)
        if choices and value not in choices:
            raise fail(where, f"must be one of {', '.join(choices)}", self.source)
        return value

    def ids(self, obj: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        """A ``products_t`` / ``product_groups_t`` member: non-empty strings."""
        out: list[str] = []
        for i, item in enumerate(self.array(obj, key, path)):
            if not isinstance(item, str) or not item:
                raise fail(f"{path}.{key}[{i}]", "must be a non-empty string", self.source)
            out.append(item)
        return tuple(out)


@dataclass(frozen=True, slots=True)
class Product:
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
class Tree:
    """The product tree: product ids to products, and group ids to product ids."""

    products: dict[str, Product] = field(default_factory=dict)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)


# --- product tree -----------------------------------------------------------------------


def product_tree(read: Reader, doc: Mapping[str, Any], version: str) -> Tree:
    """Every product id of ``product_tree`` resolved to its :class:`Product`."""
    tree = Tree()
    if "product_tree" not in doc:
        return tree
    path = "$.product_tree"
    root = read.mapping(doc["product_tree"], path)
    if not root:
        raise fail(path, "must not be empty", read.source)
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
            raise fail(f"{where}.product_ids", "is required", read.source)
        if group_id in tree.groups:
            raise fail(f"{where}.group_id", f"group id {group_id!r} defined twice", read.source)
        tree.groups[group_id] = read.ids(group, "product_ids", where)
    _resolve_links(read, tree, links)
    return tree


def _branches(read: Reader, root: Mapping[str, Any], path: str, version: str, tree: Tree) -> None:
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
                raise fail(at, "needs exactly one of branches or product", read.source)
            if has_product:
                _define(read, tree, branch["product"], f"{at}.product", inherited)
            else:
                pending.append((branch, at, inherited))
        stack.extend(reversed(pending))


def _identification(
    read: Reader, product: Mapping[str, Any], path: str
) -> tuple[str, tuple[str, ...]]:
    """CPE and package URLs of a ``full_product_name_t`` (2.0 ``purl``, 2.1 ``purls``)."""
    if "product_identification_helper" not in product:
        return "", ()
    where = f"{path}.product_identification_helper"
    helper = read.mapping(product["product_identification_helper"], where)
    if not helper:
        raise fail(where, "must not be empty", read.source)
    cpe = read.text(helper, "cpe", where)
    purls = [read.text(helper, "purl", where)] if "purl" in helper else []
    purls.extend(read.ids(helper, "purls", where))
    for i, purl in enumerate(purls):
        if parse_purl(purl) is None:
            at = f"{where}.purl" if "purl" in helper else f"{where}.purls[{i}]"
            raise fail(at, "must be a package URL (pkg:type/name)", read.source)
    return cpe, tuple(purls)


def _define(
    read: Reader, tree: Tree, value: object, path: str, names: Mapping[str, str]
) -> Product:
    """Record one ``full_product_name_t``; branches pass the names of the ancestors."""
    product = read.mapping(value, path)
    name = read.text(product, "name", path, required=True)
    product_id = read.text(product, "product_id", path, required=True)
    if product_id in tree.products:
        raise fail(
            f"{path}.product_id", f"product id {product_id!r} defined twice (6.1.2)", read.source
        )
    cpe, purls = _identification(read, product, path)
    exact = range_text = ""
    if names.get("version_from") == "product_version":
        exact = names["product_version"]
    elif names.get("version_from") == "product_version_range":
        range_text = names["product_version_range"]
    else:
        exact = identifier_version(cpe, purls)
    resolved = Product(
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


def identifier_version(cpe: str, purls: Sequence[str]) -> str:
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


def _links(read: Reader, root: Mapping[str, Any], path: str) -> list[_Link]:
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
            raise fail(f"{where}.subpaths", "is required", read.source)
        steps: list[tuple[str, str]] = []
        for j, raw in enumerate(read.array(entry, "subpaths", where)):
            at = f"{where}.subpaths[{j}]"
            step = read.mapping(raw, at)
            category = read.text(step, "category", at, required=True, choices=_RELATIONSHIPS)
            steps.append((category, read.text(step, "next_product_reference", at, required=True)))
        links.append(_link(read, entry, where, component, tuple(steps)))
    return links


def _link(
    read: Reader,
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


def _resolve_links(read: Reader, tree: Tree, links: list[_Link]) -> None:
    """Define each link's product id as its component in context (links may nest)."""
    by_id: dict[str, _Link] = {}
    for link in links:
        if link.product_id in tree.products or link.product_id in by_id:
            raise fail(
                f"{link.path}.full_product_name.product_id",
                f"product id {link.product_id!r} defined twice (6.1.2)",
                read.source,
            )
        by_id[link.product_id] = link
    resolving: set[str] = set()

    def resolve(product_id: str, path: str) -> Product:
        if product_id in tree.products:
            return tree.products[product_id]
        link = by_id.get(product_id)
        if link is None:
            raise fail(path, f"product id {product_id!r} is not defined (6.1.1)", read.source)
        if product_id in resolving:
            raise fail(
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
            version = identifier_version(cpe, purls)
        product = Product(
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


def check_references(read: Reader, doc: Mapping[str, Any], tree: Tree) -> None:
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
                    raise fail(
                        f"{path}[{j}]", f"product group id {item!r} is not defined (6.1.4)",
                        read.source,
                    )  # fmt: skip
                raise _undefined(read, f"{path}[{j}]", item)


def _undefined(read: Reader, path: str, product_id: str) -> AdvisoryFormatError:
    return fail(path, f"product id {product_id!r} is not defined (6.1.1)", read.source)


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
