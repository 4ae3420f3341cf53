"""The matcher's fast paths answer exactly as the slow ones (issue 6, the exposure benchmark).

Cached sort keys against the comparators themselves, ``range_contains`` against
``VersionRange.check``, the index (pre-parsed identifiers, the per-signature memo) against
the reference ``_match`` on random assets and advisories.
"""

from __future__ import annotations

import dataclasses

from hypothesis import example, given, settings
from hypothesis import strategies as st

from kakehashi.advisories.errors import CannotDecide
from kakehashi.advisories.matcher import AdvisoryIndex, _certainty, _match
from kakehashi.advisories.model import (
    Advisory,
    AffectedProduct,
    Asset,
    Exposure,
    Status,
    StatusRange,
)
from kakehashi.advisories.versions import (
    Scheme,
    VersionRange,
    _compare_debian,
    _compare_slow,
    _dpkg_key,
    _verrevcmp,
    compare,
    range_contains,
)

_NUM = st.sampled_from(["0", "1", "2", "9", "10", "01", "00", "123"])
_TAG = st.sampled_from(["", "rc1", "a1", "b2", ".dev1", ".post1", "-rc.1", "a", "-beta", "x"])
_SEP = st.sampled_from([".", "-", "_"])


@st.composite
def vendor_versions(draw: st.DrawFn) -> str:
    parts = draw(st.lists(_NUM, min_size=1, max_size=5))
    sep = draw(_SEP)
    prefix = draw(st.sampled_from(["", "", "v", "R"]))
    return prefix + sep.join(parts) + draw(_TAG)


@st.composite
def semver_versions(draw: st.DrawFn) -> str:
    core = ".".join(draw(st.lists(_NUM, min_size=2, max_size=4)))
    pre = draw(
        st.lists(
            st.sampled_from(["alpha", "beta", "rc", "0", "1", "11", "01", "x-y", "2a"]),
            max_size=3,
        )
    )
    build = draw(st.sampled_from(["", "+build.1", "+5"]))
    return core + ("-" + ".".join(pre) if pre else "") + build


_DEB_TEXT = st.text(alphabet="0123456789.+~-:abz", min_size=0, max_size=12)


@st.composite
def debian_versions(draw: st.DrawFn) -> str:
    epoch = draw(st.sampled_from(["", "", "1:", "0:", "2:"]))
    head = draw(st.sampled_from(["0", "1", "2", "10", "a"]))
    return epoch + head + draw(_DEB_TEXT)


def _outcome(call: object) -> tuple[str, object]:
    try:
        return ("ok", call())  # type: ignore[operator]
    except CannotDecide as exc:
        return ("cannot decide", (str(exc), exc.version, exc.scheme, exc.reason))


@settings(max_examples=200, deadline=None)
@given(vendor_versions(), vendor_versions())
def test_cached_vendor_keys_compare_as_the_comparator(a: str, b: str) -> None:
    fast = _outcome(lambda: compare(a, b, Scheme.VENDOR))
    assert fast == _outcome(lambda: _compare_slow(a, b, Scheme.VENDOR))
    assert fast == _outcome(lambda: compare(a, b, Scheme.VENDOR))  # from the cache


@settings(max_examples=200, deadline=None)
@given(semver_versions(), semver_versions())
def test_cached_semver_keys_compare_as_the_comparator(a: str, b: str) -> None:
    assert _outcome(lambda: compare(a, b, Scheme.SEMVER)) == _outcome(
        lambda: _compare_slow(a, b, Scheme.SEMVER)
    )


@settings(max_examples=300, deadline=None)
@given(debian_versions(), debian_versions())
def test_cached_debian_keys_compare_as_dpkg(a: str, b: str) -> None:
    assert _outcome(lambda: compare(a, b, Scheme.DEBIAN)) == _outcome(lambda: _compare_debian(a, b))


@settings(max_examples=300, deadline=None)
@given(_DEB_TEXT, _DEB_TEXT)
@example("", "0~")  # an empty part is after "0~" (zeros, then "~" before the end)
@example("", "0a")
@example("0a", "1")
@example("0~", "00~")
def test_dpkg_key_orders_as_verrevcmp(a: str, b: str) -> None:
    ka, kb = _dpkg_key(a), _dpkg_key(b)
    assert (ka > kb) - (ka < kb) == _verrevcmp(a, b)


def test_semver_leading_zero_pre_release_keeps_the_comparators_answer() -> None:
    # The comparator answers 1 both ways here (not an order); no key stands in for it.
    assert compare("1.0.0-01", "1.0.0-1", Scheme.SEMVER) == 1
    assert compare("1.0.0-1", "1.0.0-01", Scheme.SEMVER) == 1


def test_unsupported_scheme_still_raises() -> None:
    assert _outcome(lambda: compare("1", "1", Scheme.UNSUPPORTED))[0] == "cannot decide"


_SCHEMES = st.sampled_from([Scheme.VENDOR, Scheme.SEMVER, Scheme.DEBIAN, Scheme.UNSUPPORTED])
_ANY_VERSION = st.one_of(vendor_versions(), semver_versions(), debian_versions())


@st.composite
def ranges(draw: st.DrawFn) -> VersionRange:
    scheme = draw(_SCHEMES)
    lower = draw(st.one_of(st.none(), _ANY_VERSION))
    if draw(st.booleans()) and lower is not None:
        return VersionRange.exact(lower, scheme)
    upper = draw(st.one_of(st.none(), _ANY_VERSION))
    return VersionRange(lower, upper, draw(st.booleans()), draw(st.booleans()), scheme)


@settings(max_examples=300, deadline=None)
@given(ranges(), _ANY_VERSION, st.one_of(st.none(), _SCHEMES))
def test_range_contains_answers_and_raises_as_check(
    rng: VersionRange, version: str, scheme: Scheme | None
) -> None:
    slow = rng if scheme is None else dataclasses.replace(rng, scheme=scheme)
    assert _outcome(lambda: range_contains(rng, version, scheme)) == _outcome(
        lambda: slow.check(version).inside
    )


# --- the index against the reference _match ---------------------------------------------------

_VENDORS = ["Acme Networks, Inc.", "acme networks", "GridCo", ""]
_PRODUCTS = ["BaseStation OS", "basestation-os", "RTU", "jinja2", ""]
_VERSIONS = ["7.0.2.5", "7.0.3", "7.0.10", "1.0-1~deb12u1", "1:2.0-1", "3.1.4rc1", "15.2(4)M3", ""]
_CPES = [
    "",
    "cpe:2.3:o:acme:basestation_os:*:*:*:*:*:*:*:*",
    "cpe:2.3:o:acme:basestation_os:7.0.2.5:*:*:*:*:*:*:*",
    "cpe:2.3:h:gridco:rtu:3.1:*:*:*:*:*:*:*",
    "cpe:/a:acme:rtu:2.0",
]
_PURLS = ["", "pkg:deb/debian/openssl", "pkg:pypi/Jinja2", "pkg:npm/%40acme/rtu", "pkg:golang/x"]


@st.composite
def status_ranges(draw: st.DrawFn) -> StatusRange:
    scheme = draw(st.sampled_from([Scheme.VENDOR, Scheme.VENDOR, Scheme.DEBIAN, Scheme.SEMVER]))
    lower = draw(st.sampled_from([None, *_VERSIONS[:-1]]))
    upper = draw(st.sampled_from([None, *_VERSIONS[:-1]]))
    if draw(st.booleans()) and lower is not None:
        rng = VersionRange.exact(lower, scheme)
    else:
        rng = VersionRange(lower, upper, True, draw(st.booleans()), scheme)
    return StatusRange(rng, draw(st.sampled_from(list(Status))))


@st.composite
def products(draw: st.DrawFn) -> AffectedProduct:
    return AffectedProduct(
        vendor=draw(st.sampled_from(_VENDORS)),
        product=draw(st.sampled_from(_PRODUCTS)),
        cpes=tuple(draw(st.lists(st.sampled_from(_CPES[1:]), max_size=3))),
        purl=draw(st.sampled_from(_PURLS)),
        ranges=tuple(draw(st.lists(status_ranges(), max_size=3))),
        status=draw(st.sampled_from(list(Status))),
        fixed_version=draw(st.sampled_from(["", "7.0.3"])),
    )


@st.composite
def assets(draw: st.DrawFn) -> Asset:
    purl = draw(st.sampled_from(_PURLS))
    if purl and draw(st.booleans()):
        purl = f"{purl}@{draw(st.sampled_from(_VERSIONS[:-1]))}?arch=amd64"
    return Asset(
        organization="op",
        vendor=draw(st.sampled_from(_VENDORS)),
        product=draw(st.sampled_from(_PRODUCTS)),
        version=draw(st.sampled_from(_VERSIONS)),
        cpe=draw(st.sampled_from(_CPES)),
        purl=purl,
        ref=f"inv.csv:{draw(st.integers(1, 3))}",
    )


def _reference(asset: Asset, advisories: list[Advisory]) -> list[Exposure]:
    """``exposures_for`` as it was before the fast paths: the reference ``_match`` on each
    candidate, in the index's candidate order; and no product outside the candidates is
    tied to the asset by the rules."""
    candidates = _candidate_order(AdvisoryIndex(advisories), asset)
    chosen = {id(entry.product) for entry in candidates}  # type: ignore[attr-defined]
    for advisory in advisories:
        for product in advisory.products:
            if id(product) not in chosen:
                assert _match(asset, advisory, product) is None
    best: dict[str, Exposure] = {}
    for entry in candidates:
        advisory, product = entry.advisory, entry.product  # type: ignore[attr-defined]
        exposure = _match(asset, advisory, product)
        if exposure is None:
            continue
        current = best.get(advisory.id)
        if current is None or _certainty(exposure) < _certainty(current):
            best[advisory.id] = exposure
    return list(best.values())


def _candidate_order(index: AdvisoryIndex, asset: Asset) -> list[object]:
    from kakehashi.advisories.matcher import normalise_name, parse_cpe, parse_purl

    lists = []
    purl, cpe = parse_purl(asset.purl), parse_cpe(asset.cpe)
    if purl is not None:
        lists.append(index._by_purl.get(purl.key, []))
    if cpe is not None:
        lists.append(index._by_cpe.get((cpe.vendor, cpe.product), []))
    names = (normalise_name(asset.vendor), normalise_name(asset.product))
    lists.append(index._by_name.get(names, []))
    seen: dict[int, object] = {}
    for found in lists:
        for entry in found:
            seen.setdefault(id(entry), entry)
    return list(seen.values())


@settings(max_examples=200, deadline=None)
@given(
    st.lists(assets(), min_size=1, max_size=6),
    st.lists(st.lists(products(), min_size=1, max_size=3), min_size=1, max_size=4),
)
def test_index_gives_the_reference_answers_twice(
    asset_list: list[Asset], product_lists: list[list[AffectedProduct]]
) -> None:
    advisories = [
        Advisory(id=f"CVE-2024-{n:04d}", source="t", products=tuple(found))
        for n, found in enumerate(product_lists)
    ]
    index = AdvisoryIndex(advisories)
    for asset in asset_list:
        expected = _reference(asset, advisories)
        assert index.exposures_for(asset) == expected
        # the second time from the memo, with another asset of the same signature
        twin = dataclasses.replace(asset, organization="other", ref="x.csv:9")
        again = index.exposures_for(twin)
        assert again == [dataclasses.replace(e, asset=twin) for e in expected]
        assert all(e.asset is twin for e in again)


def test_memo_is_bounded(monkeypatch: object) -> None:
    import kakehashi.advisories.matcher as matcher

    monkeypatch.setattr(matcher, "_MEMO_SIZE", 4)  # type: ignore[attr-defined]
    adv = Advisory(
        id="CVE-2024-0001",
        source="t",
        products=(
            AffectedProduct(
                "Acme",
                "RTU",
                ranges=(StatusRange(VersionRange.less_than("2.0"), Status.AFFECTED),),
            ),
        ),
    )
    index = AdvisoryIndex([adv])
    for n in range(20):
        found = index.exposures_for(Asset("op", "Acme", "RTU", f"1.{n}"))
        assert len(found) == 1
        assert len(index._memo) <= 4
