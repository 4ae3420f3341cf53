"""Exposure benchmark (issue 6): a country's inventory against the whole CVE corpus.

Never run by the tests (``tests/test_exposure_bench.py`` runs ``--quick`` as a smoke test).

1. Generate, seeded, into a temporary directory (``bench/exposure_data.py`` says what the
   data looks like): 250,000 CVE JSON 5.1 records as JSON lines, a KEV catalog of 1,200
   entries, and 1,000,000 inventory rows in the documented CSV format for 300 operators
   (one CSV file per operator).
2. In a fresh process (so that its peak memory is its own), end to end: read and parse
   the CVE records (``json.loads`` + ``cve.parse_cve_record``) and the KEV catalog
   (``kev.parse_kev_catalog`` + ``KevCatalog.apply``), build the ``AdvisoryIndex``, stream
   every inventory (``inventory.iter_csv_assets``), match (``AdvisoryIndex.exposures_for``)
   and sort by urgency (``matcher.urgency_key``). Matching runs once on one core, then on
   ``--workers`` processes forked after the index is built (they share it copy-on-write),
   each streaming its share of the operators' files and sending its exposures back as
   compact tuples that the parent turns into ``Exposure`` records and sorts. The parse and
   build phases are shared by both runs and counted in both totals.
3. Through the real commands, in another fresh process: ``advisories import``, ``assets
   import`` per operator and ``exposure`` into a fresh SQLite hub database (``--skip-cli``
   leaves it out).
4. The naive baseline, in the same process as 2: for each (asset, advisory product) pair of a
   sample of assets against every ``affected`` entry of the corpus, compare the normalised
   vendor and product names and, when they are equal, check the version with ``univers``
   (``GenericVersionRange`` for vendor versions, ``PypiVersionRange``, ``NpmVersionRange``,
   ``DebianVersionRange``). Its time per pair is extrapolated to every asset x every
   entry and set against Kakehashi's end-to-end time. Then the two engines' verdicts are
   compared on every name-matched pair of a larger sample, and disagreements are counted
   and shown.

Peak memory is the resident-set high-water mark (``VmHWM`` of ``/proc/self/status``) of
the measuring process, and of the largest forked worker; forked workers share the
index's pages with the parent, so their figures overlap and must not be added. The
cyclic garbage collector is paused while the advisories are loaded and the index built,
and what they built is then frozen (``gc.freeze``); matching runs with it on.

Usage::

    python bench/exposure_bench.py                       # 1,000,000 x 250,000 (~3-4 min)
    python bench/exposure_bench.py --quick               # small sizes, a smoke run
    python bench/exposure_bench.py --assets 200000 --cves 50000
    python bench/exposure_bench.py --workdir /tmp/expo   # keep (and reuse) the data
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import gc
import io
import json
import multiprocessing
import os
import platform
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import exposure_data
from kakehashi.advisories.cve import parse_cve_record
from kakehashi.advisories.inventory import iter_csv_assets
from kakehashi.advisories.kev import parse_kev_catalog
from kakehashi.advisories.matcher import (
    AdvisoryIndex,
    find_exposures,
    normalise_name,
    urgency_key,
)
from kakehashi.advisories.model import (
    Advisory,
    AffectedProduct,
    Asset,
    Decision,
    Exposure,
    Status,
)
from kakehashi.advisories.versions import Scheme

RESULTS = Path(__file__).parent / "results"
#: bump when exposure_data.py changes what it writes, so that --workdir regenerates
DATA_VERSION = 3


# -- the measured run (fresh process) ------------------------------------------------------------


def _peak_rss_mb() -> float:
    """This process's resident-set high-water mark (``VmHWM``), in MB.

    Not ``getrusage(...).ru_maxrss``: Linux carries that across ``exec``, so a process
    started by a big parent would report the parent's size.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_advisories(folder: Path) -> tuple[list[Advisory], int]:
    """Every CVE record under ``folder/cves`` (JSON lines or one file per record), with KEV."""
    kev = parse_kev_catalog(
        json.loads((folder / "known_exploited_vulnerabilities.json").read_text()),
        source="known_exploited_vulnerabilities.json",
    )
    advisories: list[Advisory] = []
    for path in sorted((folder / "cves").iterdir()):
        if path.suffix == ".jsonl":
            with path.open() as handle:
                for line in handle:
                    advisories.append(kev.apply(parse_cve_record(json.loads(line))))
        else:
            record = json.loads(path.read_text())
            advisories.append(kev.apply(parse_cve_record(record, source=path.name)))
    return advisories, len(kev.entries)


def inventories(folder: Path) -> list[tuple[str, Path, int]]:
    found = []
    for path in sorted((folder / "inventories").glob("*.csv")):
        found.append((path.stem, path, path.stat().st_size))
    return found


def iter_assets(files: list[tuple[str, Path, int]]) -> Iterator[Asset]:
    for operator, path, _size in files:
        with path.open(newline="") as handle:
            yield from iter_csv_assets(handle, organization=operator, source=path.name)


def match_one_core(
    index: AdvisoryIndex, files: list[tuple[str, Path, int]], sample_every: int
) -> tuple[list[Exposure], dict[str, Any], int, list[Asset]]:
    """Stream and match on this core; the time spent reading the CSV and matching apart."""
    found: list[Exposure] = []
    sample: list[Asset] = []
    read_s = match_s = 0.0
    clock = time.perf_counter
    assets = 0
    iterator = iter_assets(files)
    exposures_for = index.exposures_for
    while True:
        t0 = clock()
        asset = next(iterator, None)
        t1 = clock()
        if asset is None:
            read_s += t1 - t0
            break
        exposures = exposures_for(asset)
        t2 = clock()
        read_s += t1 - t0
        match_s += t2 - t1
        if exposures:
            found.extend(exposures)
        if assets % sample_every == 0:
            sample.append(asset)
        assets += 1
    return found, {"read_csv_s": read_s, "match_s": match_s}, assets, sample


# Set before forking; the workers read them (copy-on-write).
_INDEX: AdvisoryIndex | None = None
_POSITION: dict[int, tuple[int, int]] = {}

_Compact = tuple[int, int, Asset, str, str, str, Any, str]


def _worker(files: list[tuple[str, Path, int]]) -> tuple[list[_Compact], int, float, float]:
    assert _INDEX is not None
    started = time.perf_counter()
    out: list[_Compact] = []
    count = 0
    exposures_for = _INDEX.exposures_for
    for asset in iter_assets(files):
        count += 1
        for e in exposures_for(asset):
            a, p = _POSITION[id(e.product)]
            out.append(
                (a, p, e.asset, e.rule.name, e.decision.name, e.why, e.range, e.fixed_version)
            )
    return out, count, time.perf_counter() - started, _peak_rss_mb()


def match_forked(
    index: AdvisoryIndex,
    advisories: list[Advisory],
    files: list[tuple[str, Path, int]],
    workers: int,
) -> tuple[list[Exposure], dict[str, Any], int]:
    """Match on ``workers`` forked processes, shards balanced by file size."""
    global _INDEX, _POSITION
    from kakehashi.advisories.model import MatchRule

    _INDEX = index
    _POSITION = {
        id(product): (a, p)
        for a, advisory in enumerate(advisories)
        for p, product in enumerate(advisory.products)
    }
    shards: list[list[tuple[str, Path, int]]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for entry in sorted(files, key=lambda f: -f[2]):
        smallest = loads.index(min(loads))
        shards[smallest].append(entry)
        loads[smallest] += entry[2]
    gc.freeze()  # keep the collector from writing to (and so copying) the shared pages
    started = time.perf_counter()
    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool:
        parts = pool.map(_worker, shards, chunksize=1)
    matched = time.perf_counter()
    found: list[Exposure] = []
    assets = 0
    for compact, count, _elapsed, _rss in parts:
        assets += count
        for a, p, asset, rule, decision, why, rng, fixed in compact:
            advisory = advisories[a]
            found.append(
                Exposure(
                    asset=asset,
                    advisory=advisory,
                    product=advisory.products[p],
                    rule=MatchRule[rule],
                    decision=Decision[decision],
                    why=why,
                    range=rng,
                    fixed_version=fixed,
                )
            )
    rebuilt = time.perf_counter()
    _INDEX = None
    _POSITION = {}
    phases = {
        "match_wall_s": matched - started,
        "worker_s": [part[2] for part in parts],
        "rebuild_s": rebuilt - matched,
        "worker_peak_rss_mb": [part[3] for part in parts],
    }
    return found, phases, assets


def summarise(found: list[Exposure], assets: int) -> dict[str, Any]:
    decisions = Counter(e.decision.value for e in found)
    exposed = {(e.asset.organization, e.asset.ref) for e in found}
    affected = {
        (e.asset.organization, e.asset.ref) for e in found if e.decision is Decision.AFFECTED
    }
    rules = Counter(e.rule.value for e in found)
    return {
        "exposures": len(found),
        "by_decision": dict(decisions),
        "by_rule": dict(rules),
        "exposed_assets": len(exposed),
        "exposed_share": len(exposed) / max(1, assets),
        "affected_assets": len(affected),
        "affected_share": len(affected) / max(1, assets),
        "known_exploited_exposures": sum(1 for e in found if e.advisory.known_exploited),
    }


def measured_run(folder: Path, workers: list[int], opts: dict[str, Any]) -> dict[str, Any]:
    report: dict[str, Any] = {"rss_start_mb": _peak_rss_mb()}
    gc.collect()
    # Loading builds millions of long-lived objects: the cyclic collector would rescan
    # them again and again (about a third of the parse time), so it is paused while
    # loading and what was loaded is frozen out of its sight, as a long-running loader
    # should do. Matching runs with the collector on.
    gc.disable()
    t0 = time.perf_counter()
    advisories, kev_entries = load_advisories(folder)
    t1 = time.perf_counter()
    index = AdvisoryIndex(advisories)
    t2 = time.perf_counter()
    gc.freeze()
    gc.enable()
    products = sum(len(a.products) for a in advisories)
    report.update(
        advisories=len(advisories),
        affected_entries=products,
        kev_entries=kev_entries,
        known_exploited=sum(1 for a in advisories if a.known_exploited),
        parse_s=t1 - t0,
        build_s=t2 - t1,
        rss_after_build_mb=_peak_rss_mb(),
    )
    files = inventories(folder)
    runs: dict[str, Any] = {}
    sample: list[Asset] = []
    for count in workers:
        if count == 1:
            every = max(1, opts["assets_hint"] // max(1, opts["agree_assets"]))
            profiler = cProfile.Profile() if opts["profile"] else None
            if profiler:
                profiler.enable()
            began = time.perf_counter()
            found, phases, assets, sample = match_one_core(index, files, every)
            matched = time.perf_counter()
            if profiler:
                profiler.disable()
                text = io.StringIO()
                pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
                report["profile"] = text.getvalue()
            phases["stream_and_match_s"] = matched - began
        else:
            began = time.perf_counter()
            found, phases, assets = match_forked(index, advisories, files, count)
            matched = time.perf_counter()
            phases["stream_and_match_s"] = matched - began
        found.sort(key=urgency_key)
        sorted_at = time.perf_counter()
        phases["sort_s"] = sorted_at - matched
        phases["total_s"] = report["parse_s"] + report["build_s"] + (sorted_at - began)
        phases["assets"] = assets
        phases["rss_after_mb"] = _peak_rss_mb()
        phases.update(summarise(found, assets))
        phases["top"] = [
            f"{e.advisory.id} (KEV {e.advisory.known_exploited}, CVSS {e.advisory.cvss})"
            f" {e.asset.organization} {e.asset.vendor} {e.asset.product} {e.asset.version}:"
            f" {e.decision.value}, {e.why}"
            for e in found[:3]
        ]
        runs[str(count)] = phases
        del found
    report["runs"] = runs
    report["peak_rss_mb"] = _peak_rss_mb()
    report["peak_rss_children_mb"] = max(
        (max(r.get("worker_peak_rss_mb", [0.0])) for r in runs.values()), default=0.0
    )
    if not opts["skip_naive"]:
        report["naive"] = naive_run(advisories, index, sample, opts)
    return report


# -- the naive baseline ------------------------------------------------------------------------


@dataclasses.dataclass
class _Entry:
    advisory: Advisory
    product: AffectedProduct
    vendor: str
    name: str
    checks: list[tuple[Any, Status, bool]] | None = None  # (univers range, status, exact)
    kind: str = ""


def _vers_scheme(product: AffectedProduct, scheme: Scheme) -> str:
    if product.purl.startswith("pkg:pypi/"):
        return "pypi"
    if product.purl.startswith("pkg:npm/"):
        return "npm"
    if scheme is Scheme.DEBIAN:
        return "deb"
    if scheme is Scheme.SEMVER:
        return "npm"
    return "generic"


def _univers_checks(entry: _Entry) -> list[tuple[Any, Status, bool]]:
    """The entry's ranges as univers ``VersionRange`` objects (built once per entry)."""
    from univers.version_range import RANGE_CLASS_BY_SCHEMES

    checks = []
    for status_range in entry.product.ranges:
        rng = status_range.range
        scheme = _vers_scheme(entry.product, rng.scheme)
        entry.kind = scheme
        parts = []
        if rng.is_exact:
            parts.append(f"={rng.lower}")
        else:
            if rng.lower is not None:
                parts.append(f"{'>=' if rng.lower_inclusive else '>'}{rng.lower}")
            if rng.upper is not None:
                parts.append(f"{'<=' if rng.upper_inclusive else '<'}{rng.upper}")
        text = f"vers:{scheme}/{'|'.join(parts) if parts else '*'}"
        try:
            built: Any = RANGE_CLASS_BY_SCHEMES[scheme].from_string(text)  # type: ignore[no-untyped-call]
        except Exception as exc:
            built = exc
        checks.append((built, status_range.status, rng.is_exact))
    if not entry.kind:
        entry.kind = _vers_scheme(entry.product, Scheme.VENDOR)
    return checks


def univers_verdict(entry: _Entry, version: str) -> str:
    """``affected``, ``not affected`` or ``error: ...`` by univers, CVE semantics."""
    if entry.checks is None:
        entry.checks = _univers_checks(entry)
    if not entry.checks:
        return "affected" if entry.product.status is Status.AFFECTED else "not affected"
    inside_affected = inside_safe = exact_safe = False
    for built, status, exact in entry.checks:
        if isinstance(built, Exception):
            return f"error: {type(built).__name__}"
        try:
            inside = built.version_class(version) in built
        except Exception as exc:
            return f"error: {type(exc).__name__}"
        if not inside:
            continue
        if status is Status.AFFECTED:
            inside_affected = True
        elif status.is_safe:
            inside_safe = True
            exact_safe = exact_safe or exact
    if exact_safe:
        return "not affected"
    if inside_affected:
        return "affected"
    if not inside_safe and entry.product.status is Status.AFFECTED:
        return "affected"
    return "not affected"


def _kakehashi_verdict(asset: Asset, entry: _Entry) -> tuple[str, str]:
    one = dataclasses.replace(entry.advisory, products=(entry.product,))
    found = find_exposures([asset], [one])
    if not found:
        return "not affected", ""
    decision = found[0].decision
    label = {
        Decision.AFFECTED: "affected",
        Decision.CANNOT_DECIDE: "cannot decide",
        Decision.UNDER_INVESTIGATION: "not affected",  # an unknown status: not "affected"
    }[decision]
    return label, found[0].why


def naive_run(
    advisories: list[Advisory], index: AdvisoryIndex, sample: list[Asset], opts: dict[str, Any]
) -> dict[str, Any]:
    import univers

    entries = [
        _Entry(a, p, normalise_name(p.vendor), normalise_name(p.product))
        for a in advisories
        for p in a.products
    ]
    timed = sample[: opts["naive_assets"]]
    # The timed loop: every sampled asset against every affected entry, names compared
    # (normalised once beforehand, in the baseline's favour), univers on equal names.
    gc.collect()
    began = time.perf_counter()
    pairs = checked = hits = 0
    for asset in timed:
        vendor, name = normalise_name(asset.vendor), normalise_name(asset.product)
        version = asset.version
        for entry in entries:
            if entry.vendor == vendor and entry.name == name:
                checked += 1
                if univers_verdict(entry, version) == "affected":
                    hits += 1
        pairs += len(entries)
    elapsed = time.perf_counter() - began
    per_pair = elapsed / max(1, pairs)
    # Agreement on every name-matched pair of the larger sample.
    by_name: dict[tuple[str, str], list[_Entry]] = {}
    for entry in entries:
        by_name.setdefault((entry.vendor, entry.name), []).append(entry)
    outcomes: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    univers_s = 0.0
    univers_calls = 0
    for asset in sample:
        key = (normalise_name(asset.vendor), normalise_name(asset.product))
        for entry in by_name.get(key, ()):
            u0 = time.perf_counter()
            theirs = univers_verdict(entry, asset.version)
            univers_s += time.perf_counter() - u0
            univers_calls += 1
            ours, why = _kakehashi_verdict(asset, entry)
            if theirs == ours:
                outcome = "agree"
            elif theirs.startswith("error"):
                outcome = (
                    "univers fails, Kakehashi answers" if ours != "cannot decide" else "both refuse"
                )
            elif ours == "cannot decide":
                outcome = "Kakehashi cannot decide, univers answers"
            else:
                outcome = f"disagree ({entry.kind}): univers {theirs}, Kakehashi {ours}"
            outcomes[outcome] += 1
            if outcome != "agree" and len(examples.setdefault(outcome, [])) < 3:
                ranges = ", ".join(
                    str(sr.range) + f" {sr.status.value}" for sr in entry.product.ranges
                )
                examples[outcome].append(
                    f"{asset.version!r} vs [{ranges or 'no ranges'}] (vers:{entry.kind}):"
                    f" univers {theirs}; Kakehashi {ours}{' — ' + why if why else ''}"
                )
    full_pairs = opts["assets_hint"] * len(entries)
    return {
        "univers": getattr(univers, "__version__", "") or _dist_version("univers"),
        "timed_assets": len(timed),
        "entries": len(entries),
        "timed_pairs": pairs,
        "name_matched_pairs": checked,
        "affected_pairs": hits,
        "seconds": elapsed,
        "seconds_per_pair": per_pair,
        "extrapolated_full_s": per_pair * full_pairs,
        "agreement_assets": len(sample),
        "agreement_pairs": sum(outcomes.values()),
        "univers_seconds_per_check": univers_s / max(1, univers_calls),
        "outcomes": dict(outcomes),
        "examples": examples,
    }


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


# -- driver -----------------------------------------------------------------------------------


def prepare(sizes: exposure_data.Sizes, folder: Path, layout: str) -> dict[str, Any]:
    manifest = folder / "manifest.json"
    wanted = {"sizes": dataclasses.asdict(sizes), "layout": layout, "data_version": DATA_VERSION}
    if manifest.exists():
        known = json.loads(manifest.read_text())
        if {k: known.get(k) for k in wanted} == wanted:
            known["reused"] = True
            return dict(known)
        shutil.rmtree(folder / "cves", ignore_errors=True)
        shutil.rmtree(folder / "inventories", ignore_errors=True)
    began = time.perf_counter()
    written = exposure_data.write_all(sizes, folder, layout=layout)
    info = {
        **wanted,
        "generate_s": time.perf_counter() - began,
        "cve_files": len(written.cve_files),
        "cve_bytes": written.cve_bytes,
        "inventory_files": len(written.inventories),
        "inventory_bytes": written.inventory_bytes,
    }
    manifest.write_text(json.dumps(info, indent=2))
    info["reused"] = False
    return info


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in counts.items())


def cli_run(folder: Path) -> dict[str, Any]:
    """The same job as a CERT runs it: ``kakehashi advisories import`` (the CVE folder and
    the KEV catalog), ``kakehashi assets import`` per operator, then ``kakehashi exposure``
    into a file, all into a fresh SQLite hub database. In-process (click's runner), so
    that the interpreter starts once; the commands are the real ones."""
    from click.testing import CliRunner

    from kakehashi.cli import cli

    work = Path(tempfile.mkdtemp(prefix="kakehashi-exposure-cli-"))
    try:
        files = inventories(folder)
        config = work / "hub.toml"
        orgs = "".join(
            f'[[organizations]]\nkey = "{org}"\nname = "{org}"\n'
            f'identity = "identity--{uuid.uuid5(uuid.NAMESPACE_URL, org)}"\n\n'
            for org, _path, _size in files
        )
        config.write_text(f'[hub]\ntitle = "bench"\ndatabase = "sqlite:///hub.db"\n\n{orgs}')
        runner = CliRunner()

        def kakehashi(*args: str) -> float:
            started = time.perf_counter()
            result = runner.invoke(cli, ["--config", str(config), *args])
            if result.exit_code != 0:
                raise RuntimeError(f"kakehashi {' '.join(args)}: {result.output[-2000:]}")
            return time.perf_counter() - started

        kev = folder / "known_exploited_vulnerabilities.json"
        advisories_s = kakehashi("advisories", "import", str(folder / "cves"), str(kev))
        assets_s = sum(
            kakehashi("assets", "import", str(path), "--org", org) for org, path, _ in files
        )
        exposure_s = kakehashi("exposure", "--output", str(work / "exposures.txt"))
        with (work / "exposures.txt").open(encoding="utf-8") as table:
            rows = sum(1 for _ in table) - 1
        return {
            "advisories_import_s": advisories_s,
            "assets_import_s": assets_s,
            "exposure_s": exposure_s,
            "exposures": rows,
            "database_mb": (work / "hub.db").stat().st_size / 1e6,
            "peak_rss_mb": _peak_rss_mb(),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def print_report(report: dict[str, Any]) -> None:
    run = report["run"]
    data = report["data"]
    sizes = data["sizes"]
    origin = "reused" if data["reused"] else f"generated in {data['generate_s']:.0f} s"
    print(
        f"# Exposure benchmark ({report['when']}, Python {report['python']},"
        f" {report['cpus']} CPUs)\n"
    )
    print(
        f"Data: {run['advisories']:,} CVE records ({run['affected_entries']:,} affected entries,"
        f" {data['cve_bytes'] / 1e6:,.0f} MB as {data['layout']}),"
        f" KEV {run['kev_entries']:,} entries"
        f" ({run['known_exploited']:,} of the records), {sizes['assets']:,} inventory rows in"
        f" {data['inventory_files']} CSV files ({data['inventory_bytes'] / 1e6:,.0f} MB);"
        f" {origin}.\n"
    )
    labels = list(run["runs"])
    print("| phase | " + " | ".join(f"{n} core{'s' if n != '1' else ''}" for n in labels) + " |")
    print("|---|" + "---:|" * len(labels))
    print(
        "| read + parse CVE records and KEV | "
        + " | ".join(f"{run['parse_s']:.1f} s" for _ in labels)
        + " |"
    )
    print("| build the index | " + " | ".join(f"{run['build_s']:.1f} s" for _ in labels) + " |")
    cells = []
    for n in labels:
        r = run["runs"][n]
        if n == "1":
            cells.append(
                f"{r['stream_and_match_s']:.1f} s"
                f" (CSV {r['read_csv_s']:.1f} + match {r['match_s']:.1f})"
            )
        else:
            cells.append(f"{r['stream_and_match_s']:.1f} s")
    print("| stream the inventories + match | " + " | ".join(cells) + " |")
    print(
        "| sort by urgency | "
        + " | ".join(f"{run['runs'][n]['sort_s']:.1f} s" for n in labels)
        + " |"
    )
    print(
        "| **total, end to end** | "
        + " | ".join(f"**{run['runs'][n]['total_s']:.1f} s**" for n in labels)
        + " |"
    )
    print(
        "| assets/s (stream + match) | "
        + " | ".join(
            f"{run['runs'][n]['assets'] / run['runs'][n]['stream_and_match_s']:,.0f}"
            for n in labels
        )
        + " |"
    )
    first = run["runs"][labels[0]]
    print(
        f"\nExposures: {first['exposures']:,} ({_counts(first['by_decision'])});"
        f" by rule: {_counts(first['by_rule'])};"
        f" {first['exposed_assets']:,} assets exposed ({first['exposed_share']:.1%}),"
        f" {first['affected_assets']:,} affected ({first['affected_share']:.1%});"
        f" {first['known_exploited_exposures']:,} exposures to known-exploited CVEs."
    )
    same = all(run["runs"][n]["exposures"] == first["exposures"] for n in labels)
    print(f"Every run found the same number of exposures: {'yes' if same else 'NO'}.")
    print(
        f"Peak resident memory (VmHWM): {run['peak_rss_mb']:,.0f} MB for the measuring process"
        f" (after parse + index build: {run['rss_after_build_mb']:,.0f} MB; interpreter and"
        f" imports at start: {run['rss_start_mb']:,.0f} MB); largest forked worker"
        f" {run['peak_rss_children_mb']:,.0f} MB, most of it pages shared with the parent."
    )
    print("\nMost urgent:")
    for line in first["top"]:
        print(f"  {line}")
    naive = run.get("naive")
    if naive:
        best = min(run["runs"][n]["total_s"] for n in labels)
        one = run["runs"]["1"]["total_s"] if "1" in run["runs"] else best
        ratio_one = naive["extrapolated_full_s"] / one
        print(
            f"\n## Naive per-pair baseline (univers {naive['univers']})\n\n"
            f"{naive['timed_assets']:,} assets x {naive['entries']:,} affected entries ="
            f" {naive['timed_pairs']:,} pairs in {naive['seconds']:.1f} s"
            f" ({naive['seconds_per_pair'] * 1e9:,.0f} ns a pair; {naive['name_matched_pairs']:,}"
            f" name-matched pairs checked with univers,"
            f" {naive['univers_seconds_per_check'] * 1e6:,.0f} µs"
            f" a check). Extrapolated to {sizes['assets']:,} x {naive['entries']:,}:"
            f" {naive['extrapolated_full_s']:,.0f} s"
            f" ({naive['extrapolated_full_s'] / 86400:,.1f} days).\n"
        )
        print("| | naive univers | Kakehashi 1 core | ratio |")
        print("|---|---:|---:|---:|")
        print(
            f"| whole job, end to end | {naive['extrapolated_full_s']:,.0f} s (extrapolated) |"
            f" {one:.1f} s | **{ratio_one:,.0f}x** |"
        )
        print(
            f"\nAgreement on {naive['agreement_pairs']:,} name-matched pairs of"
            f" {naive['agreement_assets']:,} sampled assets:"
        )
        for outcome, count in sorted(naive["outcomes"].items(), key=lambda kv: -kv[1]):
            print(f"  {count:>7,}  {outcome}")
        for outcome, lines in naive["examples"].items():
            print(f"\n  {outcome}, e.g.:")
            for line in lines:
                print(f"    {line}")
    if "profile" in run:
        print("\n## cProfile of the one-core match (tottime)\n")
        print(run["profile"])
    cli = report.get("cli")
    if cli:
        print(
            "\n## Through the commands and the hub database (SQLite)\n\n"
            "| step | time |\n|---|---:|\n"
            "| `kakehashi advisories import` (CVE folder + KEV) |"
            f" {cli['advisories_import_s']:.1f} s |\n"
            f"| `kakehashi assets import`, once per operator | {cli['assets_import_s']:.1f} s |\n"
            f"| `kakehashi exposure` (table to a file) | **{cli['exposure_s']:.1f} s** |\n"
            f"\n{cli['exposures']:,} exposures listed (the library run above:"
            f" {first['exposures']:,}); database {cli['database_mb']:,.0f} MB;"
            f" peak resident memory {cli['peak_rss_mb']:,.0f} MB."
        )
    target = min(run["runs"][n]["total_s"] for n in labels)
    full_size = sizes["assets"] >= 1_000_000 and sizes["cves"] >= 250_000
    print(
        f"\nTarget: the whole job in under 60 s on 2 cores: best {target:.1f} s,"
        f" {'met' if target < 60 else 'NOT met'}"
        f"{'' if full_size else ' (at reduced sizes)'}."
    )
    if report["load_1m"] > (report["cpus"] or 1) * 0.5:
        print(
            f"\nWARNING: load average {report['load_1m']:.1f} at the start:"
            " other work shared the CPUs."
        )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    # Defaults: the full run; --quick: a smoke run. Sizes given explicitly win over both.
    full = {"assets": 1_000_000, "cves": 250_000, "vendors": 3_000, "products": 30_000}
    full |= {"operators": 300, "kev": 1_200, "naive_assets": 60, "agree_assets": 3_000}
    quick = {"assets": 20_000, "cves": 5_000, "vendors": 200, "products": 2_000}
    quick |= {"operators": 20, "kev": 60, "naive_assets": 10, "agree_assets": 300}
    for name in full:
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=None)
    parser.add_argument("--seed", type=int, default=20_240_601)
    parser.add_argument("--workers", default="1,2", help="comma-separated process counts")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--layout", choices=("jsonl", "files"), default="jsonl")
    parser.add_argument("--workdir", help="keep the generated data here (reused when it fits)")
    parser.add_argument("--profile", action="store_true", help="cProfile the one-core match")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--json", action="store_true", help="print the report as JSON too")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--run-cli", help=argparse.SUPPRESS)
    parser.add_argument(
        "--skip-cli", action="store_true", help="skip the run through the kakehashi commands"
    )
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results")
    args = parser.parse_args(argv)
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    opts = {
        "assets_hint": args.assets,
        "agree_assets": args.agree_assets,
        "naive_assets": args.naive_assets,
        "skip_naive": args.skip_naive,
        "profile": args.profile,
    }
    workers = [int(n) for n in args.workers.split(",")]
    if args.run:
        print(json.dumps(measured_run(Path(args.run), workers, opts)))
        return {}
    if args.run_cli:
        print(json.dumps(cli_run(Path(args.run_cli))))
        return {}
    sizes = exposure_data.Sizes(
        cves=args.cves,
        assets=args.assets,
        vendors=args.vendors,
        products=args.products,
        operators=args.operators,
        kev=args.kev,
        seed=args.seed,
    )
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_1m": os.getloadavg()[0],
        "command": " ".join(
            ["bench/exposure_bench.py", *(argv if argv is not None else sys.argv[1:])]
        ),
    }
    temporary = None
    if args.workdir:
        folder = Path(args.workdir)
    else:
        temporary = tempfile.TemporaryDirectory(prefix="kakehashi-exposure-")
        folder = Path(temporary.name)
    try:
        report["data"] = prepare(sizes, folder, args.layout)
        command = [
            sys.executable,
            __file__,
            "--run",
            str(folder),
            "--workers",
            args.workers,
            "--assets",
            str(args.assets),
            "--naive-assets",
            str(args.naive_assets),
            "--agree-assets",
            str(args.agree_assets),
            *(["--skip-naive"] if args.skip_naive else []),
            *(["--profile"] if args.profile else []),
        ]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        report["run"] = json.loads(output.strip().splitlines()[-1])
        if not args.skip_cli:
            command = [sys.executable, __file__, "--run-cli", str(folder)]
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            report["cli"] = json.loads(output.strip().splitlines()[-1])
    finally:
        if temporary is not None:
            temporary.cleanup()
    print_report(report)
    if args.json:
        print(json.dumps(report, indent=2))
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        (RESULTS / f"exposure-{stamp}.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
