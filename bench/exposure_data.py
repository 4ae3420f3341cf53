"""Seeded synthetic data for ``exposure_bench.py``: CVE JSON 5.x records, a KEV catalog,
operator inventories in the documented CSV format.

Nothing here is real data; the shapes and the distributions are meant to look like it:

* **Products.** ``products`` products of ``vendors`` vendors; how many products a vendor
  has, how many CVEs a product gets and how often an operator runs a product all follow
  Zipf-like laws (a few products get thousands of CVEs, most get none). Five kinds:
  network/5G/IoT/ICS firmware (4-part vendor versions such as ``7.0.2.5``, CPE ``o``;
  about 4 % of these vendors write Cisco-IOS-style versions such as ``15.2(4)M3`` that no
  comparator orders), vendor applications (3-part versions with ``rc``/``b``
  pre-releases, CPE ``a``), Debian packages (``[epoch:]upstream-revision`` with
  ``~deb12u1`` backports; purls ``pkg:deb/debian/<name>?arch=amd64`` in the inventory),
  npm packages (semver with ``-beta.N``/``-rc.N`` pre-releases, scoped names) and PyPI
  packages (``rc1``/``.post1``). Each product has a release history, an ordered list of
  30-240 versions; ranges and installed versions are positions in that history.
* **CVE records.** CVE JSON 5.1 documents with ``cveMetadata``, ``containers.cna`` with
  ``title``/``descriptions``, ``affected[]`` (``vendor``/``product``, ``cpes``,
  ``packageName`` + ``collectionURL`` for npm and PyPI, ``defaultStatus``, ``versions[]``
  with ``lessThan``/``lessThanOrEqual``/exact versions/``X.Y.*``/``unaffected``
  backports, ``versionType``), ``problemTypes``, ``references``, ``metrics`` (CVSS 3.1,
  some 4.0, some none) and ``solutions``. Most records have one ``affected`` entry,
  some up to five. Firmware and application products also appear under slightly
  different vendor spellings in the inventories (``Acme Networks, Inc.`` /
  ``acme networks``), which name normalisation must absorb.
* **KEV.** ``kev`` CVEs, preferring high CVSS, in the CISA feed's shape.
* **Inventories.** ``operators`` operators in five sectors, sized by a Zipf law (a big
  telecom operator has tens of thousands of rows); rows name a product drawn from the
  operator's sector mix, with a version biased towards recent releases; some rows carry a
  CPE, package rows carry a purl with the version.

The CVE corpus is written as JSON lines (``cves-NNN.jsonl``, 10,000 records a file), not
one file per record as in ``CVEProject/cvelistV5``: opening 250,000 files costs the
benchmark several seconds that say nothing about the engine. ``layout="files"`` writes one
file per record instead.
"""

from __future__ import annotations

import bisect
import csv
import itertools
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SECTORS = ("telecom", "energy", "health", "transport", "finance")
KINDS = ("firmware", "app", "deb", "npm", "pypi")
#: share of each kind among products, and how each sector's inventory is made of them
PRODUCT_MIX = {"firmware": 0.40, "app": 0.25, "deb": 0.15, "npm": 0.12, "pypi": 0.08}
SECTOR_MIX = {
    "telecom": {"firmware": 0.55, "app": 0.15, "deb": 0.20, "npm": 0.05, "pypi": 0.05},
    "energy": {"firmware": 0.60, "app": 0.20, "deb": 0.15, "npm": 0.02, "pypi": 0.03},
    "health": {"firmware": 0.40, "app": 0.30, "deb": 0.15, "npm": 0.10, "pypi": 0.05},
    "transport": {"firmware": 0.50, "app": 0.25, "deb": 0.15, "npm": 0.05, "pypi": 0.05},
    "finance": {"firmware": 0.15, "app": 0.35, "deb": 0.25, "npm": 0.15, "pypi": 0.10},
}
#: share of the products that have any CVE; share of inventory rows naming one of them
CVE_SHARE = 0.35
OVERLAP = 0.015
CVE_KIND_MIX = {"firmware": 0.30, "app": 0.40, "deb": 0.08, "npm": 0.12, "pypi": 0.10}

_SYLLABLES = [
    "ka",
    "ke",
    "shi",
    "ba",
    "ri",
    "to",
    "mo",
    "na",
    "vel",
    "tro",
    "nix",
    "gen",
    "sol",
    "cor",
    "vas",
    "tel",
    "ora",
    "lum",
    "kin",
    "zen",
    "dal",
    "fer",
    "mar",
    "qui",
    "rho",
    "syn",
    "tec",
    "vox",
    "wes",
    "yor",
    "zan",
    "abe",
    "cel",
    "dor",
    "eko",
    "fal",
    "gra",
    "hel",
    "ion",
    "jas",
    "kol",
    "lux",
]
_VENDOR_WORDS = (
    "Networks",
    "Systems",
    "Technologies",
    "Electric",
    "Industrial",
    "Medical",
    "Telecom",
    "Automation",
    "Software",
    "Labs",
    "Devices",
    "Controls",
)
_SUFFIXES = ("Inc.", "Co., Ltd.", "GmbH", "AG", "Ltd.", "Corporation", "")
_FIRMWARE_THINGS = (
    "BaseStation OS",
    "gNodeB Controller",
    "Core Router OS",
    "Edge Switch Firmware",
    "RTU Firmware",
    "PLC Runtime",
    "HMI Panel",
    "Smart Meter Firmware",
    "IP Camera Firmware",
    "Infusion Pump Firmware",
    "Patient Monitor OS",
    "Gateway OS",
    "SD-WAN Appliance",
    "Firewall OS",
    "Protection Relay Firmware",
    "Wireless Controller",
    "OLT Firmware",
    "UPF Software",
    "AMF Software",
    "Signal Controller",
)
_APP_THINGS = (
    "Management Console",
    "Web Portal",
    "Identity Server",
    "Historian",
    "SCADA Server",
    "EMR Suite",
    "Payment Switch",
    "Ticketing Server",
    "Backup Agent",
    "VPN Client",
    "Mail Gateway",
    "Orchestrator",
    "Analytics Engine",
    "Directory Service",
    "Fleet Manager",
)
_SITES = ("tokyo", "osaka", "nagoya", "sapporo", "fukuoka", "sendai", "kobe", "hiroshima")
_CWES = (
    ("CWE-787", "Out-of-bounds Write"),
    ("CWE-79", "Cross-site Scripting"),
    ("CWE-89", "SQL Injection"),
    ("CWE-416", "Use After Free"),
    ("CWE-78", "OS Command Injection"),
    ("CWE-20", "Improper Input Validation"),
    ("CWE-125", "Out-of-bounds Read"),
    ("CWE-22", "Path Traversal"),
    ("CWE-287", "Improper Authentication"),
    ("CWE-798", "Use of Hard-coded Credentials"),
)


@dataclass(frozen=True)
class Sizes:
    """How much to generate."""

    cves: int = 250_000
    assets: int = 1_000_000
    vendors: int = 3_000
    products: int = 30_000
    operators: int = 300
    kev: int = 1_200
    seed: int = 20_240_601


@dataclass
class Product:
    """One product of the synthetic world and its release history."""

    index: int
    kind: str
    vendor: str
    name: str
    vendor_slug: str
    slug: str
    package: str = ""
    epoch: str = ""
    odd: bool = False  # versions no comparator orders (IOS style)
    releases: list[str] = field(default_factory=list)

    @property
    def version_type(self) -> str:
        return {
            "firmware": "custom",
            "app": "custom",
            "deb": "deb",
            "npm": "semver",
            "pypi": "python",
        }[self.kind]


def _word(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(parts))


def _zipf_weights(count: int, exponent: float) -> list[float]:
    return list(itertools.accumulate(1.0 / (rank**exponent) for rank in range(1, count + 1)))


def _pick(rng: random.Random, cumulative: Sequence[float]) -> int:
    return bisect.bisect_left(cumulative, rng.random() * cumulative[-1])


def _releases(product: Product, rng: random.Random) -> list[str]:
    """An ordered release history (oldest first) in the product's version scheme."""
    count = rng.randint(30, 240)
    out: list[str] = []
    if product.odd:
        for i in range(count):
            out.append(
                f"{12 + i // 40}.{(i // 8) % 5}({1 + i % 8}){'M' if i % 3 else 'T'}{1 + i % 4}"
            )
        return out
    if product.kind == "firmware":
        major = rng.randint(1, 8)
        for i in range(count):
            build = (i * 7) % 13 + 1
            out.append(f"{major + i // 60}.{(i // 15) % 4}.{i % 15 // 3}.{build + (i % 3) * 20}")
        return out
    if product.kind == "app":
        major = rng.randint(1, 20)
        for i in range(count):
            version = f"{major + i // 36}.{(i // 6) % 6}.{i % 6}"
            if i % 6 == 0 and rng.random() < 0.25:
                out.append(f"{version}rc{1 + rng.randrange(2)}")
            out.append(version)
        return out
    if product.kind == "deb":
        major = rng.randint(0, 9)
        for i in range(count):
            upstream = f"{major + i // 30}.{(i // 6) % 5}.{i % 6}"
            out.append(f"{product.epoch}{upstream}-1")
            if i % 3 == 0:
                out.append(f"{product.epoch}{upstream}-1+deb12u{1 + i % 2}")
        return out
    if product.kind == "npm":
        major = rng.randint(0, 6)
        for i in range(count):
            version = f"{major + i // 40}.{(i // 8) % 5}.{i % 8}"
            if i % 8 == 0 and rng.random() < 0.3:
                out.append(f"{version}-beta.{1 + rng.randrange(3)}")
                out.append(f"{version}-rc.1")
            out.append(version)
        return out
    major = rng.randint(0, 5)
    for i in range(count):
        version = f"{major + i // 30}.{(i // 10) % 3}.{i % 10}"
        if i % 10 == 0 and rng.random() < 0.3:
            out.append(f"{version}rc1")
        out.append(version)
        if rng.random() < 0.03:
            out.append(f"{version}.post1")
    return out


class World:
    """Vendors, products and release histories, all derived from ``sizes.seed``."""

    def __init__(self, sizes: Sizes) -> None:
        self.sizes = sizes
        rng = random.Random(sizes.seed)
        vendors: dict[str, list[tuple[str, str]]] = {kind: [] for kind in KINDS}
        used: set[str] = set()
        for kind in ("firmware", "app"):
            for _ in range(int(sizes.vendors * (0.55 if kind == "firmware" else 0.45))):
                while True:
                    stem = _word(rng, rng.randint(2, 3)).capitalize()
                    if stem not in used:
                        used.add(stem)
                        break
                name = f"{stem} {rng.choice(_VENDOR_WORDS)}"
                suffix = rng.choice(_SUFFIXES)
                full = f"{name}, {suffix}" if suffix.startswith("Inc") else f"{name} {suffix}"
                vendors[kind].append((full.strip(), stem.lower()))
        vendor_weights = {kind: _zipf_weights(len(v), 1.1) for kind, v in vendors.items() if v}
        self.products: list[Product] = []
        self.by_kind: dict[str, list[int]] = {kind: [] for kind in KINDS}
        names_seen: set[tuple[str, str]] = set()
        for index in range(sizes.products):
            kind = _choose(rng, PRODUCT_MIX)
            product = self._product(rng, index, kind, vendors, vendor_weights, names_seen)
            product.releases = _releases(product, random.Random(sizes.seed * 31 + index))
            self.products.append(product)
            self.by_kind[kind].append(index)
        # Only some products ever get a CVE (``CVE_SHARE``); among those, CVE counts follow
        # a Zipf law (the busiest product gets about 1 % of the corpus). Operators run
        # products by another Zipf law; a row names a CVE-bearing product with probability
        # ``OVERLAP`` (then the most attacked products are also the most used ones).
        self.cve_order: dict[str, list[int]] = {}
        self.quiet_order: dict[str, list[int]] = {}
        for kind in KINDS:
            ids = list(self.by_kind[kind])
            rng.shuffle(ids)
            cut = max(1, int(len(ids) * CVE_SHARE))
            self.cve_order[kind] = ids[:cut]
            self.quiet_order[kind] = ids[cut:] or ids[:cut]
        # An advisory may name several products of its vendor (a product family), all
        # among the CVE-bearing ones.
        self.by_vendor: dict[str, list[Product]] = {}
        for ids in self.cve_order.values():
            for product_id in ids:
                product = self.products[product_id]
                self.by_vendor.setdefault(product.vendor, []).append(product)
        self.cve_weights = {k: _zipf_weights(len(v), 0.8) for k, v in self.cve_order.items()}
        self.quiet_weights = {k: _zipf_weights(len(v), 0.9) for k, v in self.quiet_order.items()}

    def _product(
        self,
        rng: random.Random,
        index: int,
        kind: str,
        vendors: dict[str, list[tuple[str, str]]],
        weights: dict[str, list[float]],
        seen: set[tuple[str, str]],
    ) -> Product:
        while True:
            if kind in ("firmware", "app"):
                vendor, vendor_slug = vendors[kind][_pick(rng, weights[kind])]
                things = _FIRMWARE_THINGS if kind == "firmware" else _APP_THINGS
                series = _word(rng, 1).upper() + str(rng.randint(1, 99) * 10)
                name = f"{series} {rng.choice(things)}"
                slug = name.lower().replace(" ", "_")
                product = Product(index, kind, vendor, name, vendor_slug, slug)
                product.odd = kind == "firmware" and rng.random() < 0.04
            elif kind == "deb":
                stem = _word(rng, rng.randint(1, 3))
                name = rng.choice(
                    (stem, f"lib{stem}", f"{stem}-utils", f"{stem}2", f"lib{stem}-dev")
                )
                product = Product(index, kind, "Debian", name, "debian", name, package=name)
                product.epoch = "1:" if rng.random() < 0.1 else ""
            elif kind == "npm":
                name = _word(rng, rng.randint(2, 3))
                package = f"@{_word(rng, 2)}/{name}" if rng.random() < 0.3 else name
                maintainer = _word(rng, 2)
                product = Product(index, kind, maintainer, package, maintainer, name, package)
            else:
                name = _word(rng, rng.randint(2, 3)).capitalize()
                maintainer = _word(rng, 2)
                product = Product(index, kind, maintainer, name, maintainer, name.lower(), name)
            key = (product.vendor_slug, product.slug)
            if key not in seen:
                seen.add(key)
                return product

    def cve_product(self, rng: random.Random, kind: str) -> Product:
        order = self.cve_order[kind]
        return self.products[order[_pick(rng, self.cve_weights[kind])]]

    def used_product(self, rng: random.Random, kind: str) -> Product:
        if rng.random() < OVERLAP:
            return self.cve_product(rng, kind)
        order = self.quiet_order[kind]
        return self.products[order[_pick(rng, self.quiet_weights[kind])]]


def _choose(rng: random.Random, mix: dict[str, float]) -> str:
    roll = rng.random()
    for key, share in mix.items():
        roll -= share
        if roll < 0:
            return key
    return next(reversed(mix))


# -- CVE records -------------------------------------------------------------------------------


def _cpe(product: Product, version: str = "*") -> str:
    part = "o" if product.kind == "firmware" else "a"
    return f"cpe:2.3:{part}:{product.vendor_slug}:{product.slug}:{version}:*:*:*:*:*:*:*"


def _versions(product: Product, rng: random.Random) -> tuple[list[dict[str, Any]], str]:
    """``versions[]`` and ``defaultStatus`` for one affected product."""
    releases = product.releases
    count = len(releases)
    vtype = product.version_type
    # The affected window: newer releases are more often hit (old ones are long fixed).
    fixed_at = count - 1 - min(count - 2, int(rng.expovariate(1 / (count / 4))))
    width = 1 + min(fixed_at - 1, int(rng.expovariate(1 / 5)))
    start = fixed_at - width
    roll = rng.random()
    entries: list[dict[str, Any]]
    default = rng.choice(["unaffected", "unaffected", "unaffected", "unknown", ""])
    if roll < 0.50:
        lower = releases[start] if rng.random() < 0.7 else "0"
        entries = [
            {
                "version": lower,
                "lessThan": releases[fixed_at],
                "status": "affected",
                "versionType": vtype,
            }
        ]
    elif roll < 0.65:
        entries = [
            {
                "version": releases[start],
                "lessThanOrEqual": releases[fixed_at - 1],
                "status": "affected",
                "versionType": vtype,
            }
        ]
    elif roll < 0.75:
        picks = sorted(set(rng.sample(range(start, fixed_at), min(width, rng.randint(1, 4)))))
        entries = [
            {"version": releases[i], "status": "affected", "versionType": vtype} for i in picks
        ]
    elif roll < 0.80 and product.kind in ("firmware", "app") and not product.odd:
        head = releases[fixed_at].split(".")
        entries = [
            {
                "version": releases[start],
                "lessThan": f"{head[0]}.{head[1]}.*",
                "status": "affected",
                "versionType": vtype,
            }
        ]
    elif roll < 0.84:
        # defaultStatus affected, fixed from a version on: a common CNA pattern.
        default = "affected"
        entries = [
            {
                "version": releases[fixed_at],
                "lessThan": "*",
                "status": "unaffected",
                "versionType": vtype,
            }
        ]
    else:
        # several branches fixed separately
        entries = []
        for _ in range(rng.randint(2, 4)):
            end = rng.randrange(1, count)
            begin = max(0, end - 1 - int(rng.expovariate(1 / 4)))
            entries.append(
                {
                    "version": releases[begin],
                    "lessThan": releases[end],
                    "status": "affected",
                    "versionType": vtype,
                }
            )
    if rng.random() < 0.1 and entries and "lessThan" in entries[0] and start + 1 < fixed_at:
        backport = releases[rng.randrange(start + 1, fixed_at)]
        entries.append({"version": backport, "status": "unaffected", "versionType": vtype})
    if product.kind in ("firmware", "app") and rng.random() < 0.25:
        for entry in entries:
            entry.pop("versionType", None)  # CNAs often leave it out
    return entries, default


def cve_record(world: World, number: int, rng: random.Random) -> dict[str, Any]:
    """One synthetic CVE JSON 5.1 record."""
    year = 1999 + number * 26 // max(1, world.sizes.cves)
    cve_id = f"CVE-{year}-{10000 + number}"
    kind = _choose(rng, CVE_KIND_MIX)
    first = world.cve_product(rng, kind)
    products = [first]
    extra = rng.random()
    if extra > 0.8 and kind in ("firmware", "app"):
        siblings = world.by_vendor[first.vendor]
        for _ in range(1 if extra < 0.95 else rng.randint(2, 4)):
            other = rng.choice(siblings)
            if other not in products:
                products.append(other)
    affected: list[dict[str, Any]] = []
    for product in products:
        entry: dict[str, Any] = {}
        if product.kind in ("npm", "pypi"):
            entry["vendor"] = product.vendor
            entry["product"] = product.package
            entry["packageName"] = product.package
            entry["collectionURL"] = (
                "https://www.npmjs.com" if product.kind == "npm" else "https://pypi.org"
            )
        else:
            entry["vendor"] = product.vendor
            entry["product"] = product.name
            if product.kind != "deb" and rng.random() < 0.6:
                entry["cpes"] = [_cpe(product)]
        if product.kind == "firmware" and rng.random() < 0.04:
            # no ranges; the CPE names the one affected version
            version = rng.choice(product.releases)
            entry["cpes"] = [_cpe(product, version)]
            entry["defaultStatus"] = "unknown"
        else:
            versions, default = _versions(product, rng)
            entry["versions"] = versions
            if default:
                entry["defaultStatus"] = default
        affected.append(entry)
    cwe, cwe_name = rng.choice(_CWES)
    title = f"{cwe_name} in {first.name}"
    record: dict[str, Any] = {
        "dataType": "CVE_RECORD",
        "dataVersion": "5.1",
        "cveMetadata": {
            "cveId": cve_id,
            "assignerOrgId": f"{number % 500:08x}-0000-4000-8000-000000000000",
            "assignerShortName": first.vendor_slug[:12],
            "state": "PUBLISHED",
            "datePublished": f"{year}-{1 + number % 12:02d}-{1 + number % 28:02d}T00:00:00.000Z",
        },
        "containers": {
            "cna": {
                "providerMetadata": {"orgId": f"{number % 500:08x}-0000-4000-8000-000000000000"},
                "title": title,
                "descriptions": [
                    {
                        "lang": "en",
                        "value": f"{cwe_name} in {first.vendor} {first.name} allows a remote"
                        " attacker to execute code or read data via a crafted request.",
                    }
                ],
                "affected": affected,
                "problemTypes": [
                    {
                        "descriptions": [
                            {"lang": "en", "cweId": cwe, "description": cwe_name, "type": "CWE"}
                        ]
                    }
                ],
                "references": [
                    {"url": f"https://security.{first.vendor_slug}.example/advisories/{cve_id}"},
                    {"url": f"https://www.cve.org/CVERecord?id={cve_id}"},
                ],
            }
        },
    }
    cna = record["containers"]["cna"]
    roll = rng.random()
    if roll < 0.85:
        score = round(min(10.0, max(1.0, rng.gauss(7.2, 1.6))), 1)
        severity = (
            "CRITICAL"
            if score >= 9
            else "HIGH"
            if score >= 7
            else "MEDIUM"
            if score >= 4
            else "LOW"
        )
        key = "cvssV3_1" if roll < 0.75 else "cvssV4_0"
        cna["metrics"] = [
            {
                key: {
                    "version": "3.1" if key == "cvssV3_1" else "4.0",
                    "baseScore": score,
                    "baseSeverity": severity,
                    "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                }
            }
        ]
    if rng.random() < 0.5:
        cna["solutions"] = [{"lang": "en", "value": "Upgrade to a fixed release."}]
    return record


def kev_catalog(
    world: World, records: Sequence[tuple[str, float, str, str]], rng: random.Random
) -> dict[str, Any]:
    """A KEV feed of ``world.sizes.kev`` entries; ``records`` are (id, score, vendor, product)."""
    ranked = sorted(records, key=lambda r: (-r[1], rng.random()))
    chosen = ranked[: world.sizes.kev * 3]
    rng.shuffle(chosen)
    vulns = []
    for cve_id, _score, vendor, product in sorted(chosen[: world.sizes.kev]):
        added = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        due = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        vulns.append(
            {
                "cveID": cve_id,
                "vendorProject": vendor,
                "product": product,
                "vulnerabilityName": f"{vendor} {product} vulnerability",
                "dateAdded": added,
                "shortDescription": "Exploited in the wild.",
                "requiredAction": "Apply mitigations per vendor instructions.",
                "dueDate": due,
                "knownRansomwareCampaignUse": rng.choice(["Known", "Unknown", "Unknown"]),
                "notes": "",
            }
        )
    return {
        "title": "CISA Catalog of Known Exploited Vulnerabilities",
        "catalogVersion": "2024.12.31",
        "dateReleased": "2024-12-31T12:00:00.000Z",
        "count": len(vulns),
        "vulnerabilities": vulns,
    }


# -- inventories -------------------------------------------------------------------------------


def _installed(product: Product, rng: random.Random) -> str:
    """An installed version: mostly recent, with a long tail of old releases."""
    count = len(product.releases)
    if rng.random() < 0.4:
        return product.releases[-1]
    behind = min(count - 1, int(rng.expovariate(1 / max(1.0, count / 15))))
    return product.releases[count - 1 - behind]


def _vendor_spelling(product: Product, rng: random.Random) -> str:
    roll = rng.random()
    if product.kind not in ("firmware", "app") or roll < 0.5:
        return product.vendor
    stem = product.vendor.split(",")[0]
    for suffix in ("GmbH", "AG", "Ltd.", "Corporation", "Co."):
        stem = stem.removesuffix(f" {suffix}")
    return stem if roll < 0.8 else stem.lower()


def inventory_rows(
    world: World, operator: int, sector: str, count: int, rng: random.Random
) -> Iterator[list[str]]:
    """``count`` CSV rows for one operator."""
    mix = SECTOR_MIX[sector]
    sites = [f"{rng.choice(_SITES)}-{sector[:3]}-{n}" for n in range(1 + count // 400)]
    for _ in range(count):
        kind = _choose(rng, mix)
        product = world.used_product(rng, kind)
        version = _installed(product, rng)
        cpe = purl = ""
        vendor, name = _vendor_spelling(product, rng), product.name
        if kind in ("firmware", "app") and rng.random() < 0.3:
            cpe = _cpe(product, version)
        elif kind == "deb":
            purl = f"pkg:deb/debian/{product.package}@{version}?arch=amd64&distro=bookworm"
        elif kind == "npm":
            package = (
                product.package.replace("@", "%40", 1)
                if product.package.startswith("@")
                else product.package
            )
            purl = f"pkg:npm/{package}@{version}"
            name = product.package
        elif kind == "pypi":
            purl = f"pkg:pypi/{product.package.lower()}@{version}"
        criticality = rng.choice(("low", "medium", "medium", "high", "high", "critical", ""))
        yield [rng.choice(sites), sector, vendor, name, version, cpe, purl, criticality]


def operator_sizes(sizes: Sizes, rng: random.Random) -> list[tuple[str, str, int]]:
    """(operator key, sector, rows) for every operator; sizes follow a Zipf law."""
    weights = [1.0 / (rank**0.8) for rank in range(1, sizes.operators + 1)]
    total = sum(weights)
    counts = [max(1, int(sizes.assets * w / total)) for w in weights]
    counts[0] += sizes.assets - sum(counts)
    out = []
    for n, rows in enumerate(counts):
        sector = SECTORS[n % len(SECTORS)]
        out.append((f"op-{sector}-{n:03d}", sector, rows))
    return out


# -- writing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    """Where the data went and what it holds."""

    folder: Path
    cve_files: list[Path]
    kev_file: Path
    inventories: list[tuple[str, Path, int]]  # (operator, CSV file, rows)
    cve_bytes: int
    inventory_bytes: int


def write_all(sizes: Sizes, folder: Path, *, layout: str = "jsonl") -> Written:
    """Generate everything into ``folder`` (``layout``: ``jsonl`` or ``files``)."""
    folder.mkdir(parents=True, exist_ok=True)
    world = World(sizes)
    rng = random.Random(sizes.seed + 1)
    cve_dir = folder / "cves"
    cve_dir.mkdir(exist_ok=True)
    cve_files: list[Path] = []
    summary: list[tuple[str, float, str, str]] = []
    cve_bytes = 0
    out = None
    for number in range(sizes.cves):
        record = cve_record(world, number, rng)
        text = json.dumps(record, separators=(",", ":"))
        cve_bytes += len(text) + 1
        if layout == "files":
            path = cve_dir / f"{record['cveMetadata']['cveId']}.json"
            path.write_text(text)
            cve_files.append(path)
        else:
            if number % 10_000 == 0:
                if out is not None:
                    out.close()
                path = cve_dir / f"cves-{number // 10_000:03d}.jsonl"
                cve_files.append(path)
                out = path.open("w")
            assert out is not None
            out.write(text + "\n")
        metrics = record["containers"]["cna"].get("metrics")
        score = next(iter(metrics[0].values()))["baseScore"] if metrics else 0.0
        first = record["containers"]["cna"]["affected"][0]
        summary.append((record["cveMetadata"]["cveId"], score, first["vendor"], first["product"]))
    if out is not None:
        out.close()
    kev_file = folder / "known_exploited_vulnerabilities.json"
    kev_file.write_text(json.dumps(kev_catalog(world, summary, rng)))
    inventories: list[tuple[str, Path, int]] = []
    inventory_bytes = 0
    inv_dir = folder / "inventories"
    inv_dir.mkdir(exist_ok=True)
    for operator, sector, rows in operator_sizes(sizes, rng):
        path = inv_dir / f"{operator}.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                ("site", "sector", "vendor", "product", "version", "cpe", "purl", "criticality")
            )
            writer.writerows(inventory_rows(world, len(inventories), sector, rows, rng))
        inventory_bytes += path.stat().st_size
        inventories.append((operator, path, rows))
    return Written(folder, cve_files, kev_file, inventories, cve_bytes, inventory_bytes)
