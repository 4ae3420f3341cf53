"""Pattern-matching benchmark: Kakehashi's engine next to stix2-matcher, then at a million.

Never run by the tests. Two parts:

* Part one: 10,000 indicators x 100,000 observations. Kakehashi compiles the indicators
  and matches every observation. stix2-matcher (the OASIS reference matcher) cannot finish
  that (about a day by its own rate), so it runs on a sample — ``--sample-patterns``
  compiled patterns against ``--sample-observations`` observations, one
  ``Pattern.match()`` per pattern and observation, and also one call per pattern over the
  whole sample, whichever is faster for it — and its rate against 10,000 patterns is
  extrapolated from the time per (pattern, observation) pair, which is how its cost grows.
  Both answer on the sample, and the answers are compared.
* Part two, in a fresh process so that its memory is its own: 1,000,000 indicators
  (equality on addresses, domains and SHA-256 hashes, and CIDRs), built into an index,
  then 200,000 observations matched: observations per second on one core, *streamed*
  (1,000 built, then matched, as a reader hands them over: the target's measure) and
  *held in memory* (all 200,000 built first, read back from RAM), the latter also with
  the Python loop; peak resident memory (``getrusage``), and memory per million
  indicators (resident set after the build and the compiled loop's tables, less
  before). Then the same through the Zeek reader from a ``conn.log`` on disk, the
  end-to-end rate of ``kakehashi match``.

Workloads are seeded; observations are connection-like (two addresses and a
``network-traffic``), DNS-like (a domain) or file-like (a SHA-256), with about 1 % of them
meeting an indicator. Results are printed as Markdown and written to
``bench/results/match-<timestamp>.json``.

Usage::

    python bench/match_bench.py                  # both parts (~3-5 minutes)
    python bench/match_bench.py --quick          # small sizes, a smoke run
    python bench/match_bench.py --skip-scale     # part one only
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kakehashi.match.compile import Index, IndexBuilder
from kakehashi.match.engine import COMPILED, Matcher
from kakehashi.match.observation import Observation
from kakehashi.match.run import match_inputs
from kakehashi.stix.timestamps import format_us, parse_timestamp_us

T0 = parse_timestamp_us("2024-01-01T00:00:00Z")
NOW = parse_timestamp_us("2025-01-01T00:00:00Z")
RESULTS = Path(__file__).parent / "results"


# -- workload -------------------------------------------------------------------------------


def ipv4(n: int) -> str:
    return f"{11 + (n >> 24) % 200}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def sha256(n: int) -> str:
    return f"{n:064x}"


def domain(n: int) -> str:
    return f"host{n}.example{n % 97}.com"


def pattern(n: int) -> str:
    """Indicator ``n``: 40 % address, 25 % domain, 25 % SHA-256, 10 % CIDR."""
    kind = n % 20
    if kind < 8:
        return f"[ipv4-addr:value = '{ipv4(n * 7919)}']"
    if kind < 13:
        return f"[domain-name:value = '{domain(n)}']"
    if kind < 18:
        return f"[file:hashes.'SHA-256' = '{sha256(n)}']"
    prefix = 16 + n % 13
    return f"[ipv4-addr:value ISSUBSET '{ipv4(n * 7919)}/{prefix}']"


def indicators(count: int) -> Iterator[dict[str, Any]]:
    for n in range(count):
        yield {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.UUID(int=n, version=4)}",
            "created": "2024-01-01T00:00:00.000Z",
            "modified": "2024-01-01T00:00:00.000Z",
            "pattern": pattern(n),
            "pattern_type": "stix",
            "valid_from": "2024-01-01T00:00:00Z",
        }


def observations(
    count: int, indicator_count: int, seed: int = 7, *, repeating: bool = False
) -> list[Observation]:
    """Connection-like (70 %), DNS-like (20 %) and file-like (10 %) observations; about
    1 % carry a value some indicator names.

    By default nearly every source address is new (the worst case for the engine); with
    ``repeating``, sources come from 2,000 internal hosts and destinations from 20,000
    external ones, as in a real network's logs.
    """
    rng = random.Random(seed)
    found: list[Observation] = []
    for i in range(count):
        at = T0 + i * 1000
        hit = rng.random() < 0.01
        n = rng.randrange(indicator_count)
        roll = rng.random()
        if roll < 0.7:
            if repeating:
                host = rng.randrange(2000)
                source = f"10.0.{host >> 8}.{host & 255}"
                peer = int(rng.paretovariate(1.2)) % 20000
                target = (
                    ipv4(n * 7919)
                    if hit
                    else f"172.{16 + (peer >> 16)}.{peer >> 8 & 255}.{peer & 255}"
                )
            else:
                source = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                target = ipv4(n * 7919) if hit else f"172.{rng.randrange(16, 32)}.{i & 255}.7"
            objects: dict[str, dict[str, Any]] = {
                "ipv4-addr--s": {"type": "ipv4-addr", "id": "ipv4-addr--s", "value": source},
                "ipv4-addr--d": {"type": "ipv4-addr", "id": "ipv4-addr--d", "value": target},
                "network-traffic--t": {
                    "type": "network-traffic",
                    "id": "network-traffic--t",
                    "src_ref": "ipv4-addr--s",
                    "dst_ref": "ipv4-addr--d",
                    "src_port": 40000 + i % 20000,
                    "dst_port": 443,
                    "protocols": ["tcp"],
                },
            }
        elif roll < 0.9:
            name = domain(n) if hit else f"benign{i}.example.net"
            objects = {
                "domain-name--q": {"type": "domain-name", "id": "domain-name--q", "value": name}
            }
        else:
            digest = sha256(n) if hit else f"{rng.getrandbits(256):064x}"
            objects = {"file--f": {"type": "file", "id": "file--f", "hashes": {"SHA-256": digest}}}
        found.append(
            Observation(objects, at, at, 1, f"observed-data--{uuid.UUID(int=i, version=4)}")
        )
    return found


def as_bundle(observations: list[Observation]) -> dict[str, Any]:
    """Observations as one STIX 2.1 bundle (ids made unique per observation)."""
    objects: list[dict[str, Any]] = []
    for n, observation in enumerate(observations):
        rename = {key: f"{key}{n}" for key in observation.objects}
        refs = []
        for key, obj in observation.objects.items():
            copy = {k: rename.get(v, v) if k.endswith("_ref") else v for k, v in obj.items()}
            copy["id"] = rename[key]
            objects.append(copy)
            refs.append(rename[key])
        stamp = format_us(observation.first_us)
        objects.append(
            {
                "type": "observed-data",
                "spec_version": "2.1",
                "id": observation.ref,
                "created": stamp,
                "modified": stamp,
                "first_observed": stamp,
                "last_observed": stamp,
                "number_observed": observation.number,
                "object_refs": refs,
            }
        )
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}


# -- part one -------------------------------------------------------------------------------


def kakehashi_run(indicator_count: int, observed: list[Observation]) -> dict[str, Any]:
    started = time.perf_counter()
    builder = IndexBuilder(now_us=NOW)
    builder.add_all(indicators(indicator_count))
    index = builder.build()
    built = time.perf_counter()
    best = 0.0
    for _ in range(3):
        matcher = Matcher(index)
        gc.collect()
        gc.disable()
        began = time.process_time()
        matcher.feed_all(observed)
        ended = time.process_time()
        gc.enable()
        best = max(best, len(observed) / (ended - began))
    results = matcher.results()
    return {
        "indicators": indicator_count,
        "compiled": index.compiled,
        "build_s": built - started,
        "observations": len(observed),
        "match_s": len(observed) / best,
        "observations_per_s": best,
        "sightings": len(results),
        "matched_observations": matcher.matched_observations,
    }


def reference_run(
    indicator_count: int, observed: list[Observation], patterns: int, sample: int
) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from stix2matcher.matcher import Pattern

    rng = random.Random(11)
    chosen = sorted(rng.sample(range(indicator_count), patterns))
    # Make the sample meet the chosen patterns now and then, as the full run does.
    hits = observations(sample, indicator_count, seed=13)
    sample_observations = [*hits[: sample - sample // 10], *_hits_for(chosen, sample // 10)]
    started = time.perf_counter()
    compiled = [Pattern(pattern(n), "2.1") for n in chosen]
    compile_s = (time.perf_counter() - started) / len(compiled)
    bundles = [as_bundle([o]) for o in sample_observations]
    began = time.perf_counter()
    answers_one = [[bool(p.match([b])) for b in bundles] for p in compiled]
    per_pair_one = (time.perf_counter() - began) / (len(compiled) * len(bundles))
    whole = as_bundle(sample_observations)
    began = time.perf_counter()
    for p in compiled:
        p.match([whole])
    per_pair_batch = (time.perf_counter() - began) / (len(compiled) * len(bundles))
    per_pair = min(per_pair_one, per_pair_batch)
    # Kakehashi's answers on the same sample, pattern by pattern, for the agreement check.
    builder = IndexBuilder(now_us=NOW)
    for n in chosen:
        builder.add(
            {
                **next(indicators(1)),
                "id": f"indicator--{uuid.UUID(int=n, version=4)}",
                "pattern": pattern(n),
            }
        )
    matcher = Matcher(builder.build())
    per_observation: list[set[str]] = []
    for observation in sample_observations:
        before = {m.indicator_id: m.count for m in matcher.results()}
        matcher.feed(observation)
        after = {m.indicator_id: m.count for m in matcher.results()}
        per_observation.append({k for k, v in after.items() if v != before.get(k)})
    disagreements = 0
    for p_index, n in enumerate(chosen):
        indicator_id = f"indicator--{uuid.UUID(int=n, version=4)}"
        for o_index in range(len(sample_observations)):
            ours = indicator_id in per_observation[o_index]
            disagreements += ours != answers_one[p_index][o_index]
    matched_pairs = sum(sum(row) for row in answers_one)
    return {
        "sample_patterns": len(compiled),
        "sample_observations": len(bundles),
        "compile_s_per_pattern": compile_s,
        "seconds_per_pair_one_call_each": per_pair_one,
        "seconds_per_pair_one_call_per_pattern": per_pair_batch,
        "observations_per_s_at_full_size": 1 / (per_pair * indicator_count),
        "matched_pairs": matched_pairs,
        "disagreements": disagreements,
    }


def _hits_for(chosen: list[int], count: int) -> list[Observation]:
    made = []
    for i in range(count):
        n = chosen[i % len(chosen)]
        text = pattern(n)
        value = text.split("'")[-2].split("/")[0]
        obj: dict[str, Any]
        if text.startswith("[ipv4"):
            obj = {"type": "ipv4-addr", "id": "ipv4-addr--h", "value": value}
        elif text.startswith("[domain"):
            obj = {"type": "domain-name", "id": "domain-name--h", "value": value}
        else:
            obj = {"type": "file", "id": "file--h", "hashes": {"SHA-256": value}}
        made.append(Observation({obj["id"]: obj}, T0, T0, 1, f"observed-data--h{i}"))
    return made


# -- part two -------------------------------------------------------------------------------


def _rss_kb() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _held_rate(
    index: Index, observed: list[Observation], *, compiled: bool | None
) -> dict[str, float]:
    """Observations built first and held in a list (hundreds of MB at 200,000: read back
    from RAM, not from the CPU's caches); best of three runs."""
    best_wall = best_cpu = 0.0
    for _ in range(3):
        matcher = Matcher(index, compiled=compiled)
        gc.collect()
        gc.disable()
        wall, cpu = time.perf_counter(), time.process_time()
        matcher.feed_all(observed)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        gc.enable()
        best_wall = max(best_wall, len(observed) / wall)
        best_cpu = max(best_cpu, len(observed) / cpu)
    return {"wall": best_wall, "cpu": best_cpu}


def _streamed_rate(
    index: Index, count: int, indicator_count: int, *, repeating: bool
) -> dict[str, float]:
    """Observations matched as a reader hands them over: in batches of 1,000 built just
    before (so in the CPU's caches, as a parsed log line is); only matching is timed."""
    matcher = Matcher(index)
    wall = cpu = 0.0
    done = 0
    gc.disable()
    for batch_number in range(max(1, count // 1000)):
        batch = observations(1000, indicator_count, seed=1000 + batch_number, repeating=repeating)
        began_wall, began_cpu = time.perf_counter(), time.process_time()
        matcher.feed_all(batch)
        wall += time.perf_counter() - began_wall
        cpu += time.process_time() - began_cpu
        done += len(batch)
    gc.enable()
    return {"wall": done / wall, "cpu": done / cpu}


def scale_worker(indicator_count: int, observation_count: int) -> dict[str, Any]:
    """Run in a fresh process: build a big index, match, report time and memory."""
    gc.collect()
    before_kb = _rss_kb()
    started = time.perf_counter()
    builder = IndexBuilder(now_us=NOW)
    builder.add_all(indicators(indicator_count))
    index = builder.build()
    build_s = time.perf_counter() - started
    # A first matcher builds the compiled loop's tables (filters, flat IPv4 ranges): they
    # are part of the index's memory.
    matcher = Matcher(index)
    gc.collect()
    after_build_kb = _rss_kb()
    peak_build_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rates = {}
    for label, repeating in (("unique", False), ("repeating", True)):
        rates[label] = _streamed_rate(
            index, observation_count, indicator_count, repeating=repeating
        )
        observed = observations(observation_count, indicator_count, repeating=repeating)
        rates[f"{label}_held"] = _held_rate(index, observed, compiled=None)
        rates[f"{label}_held_python"] = _held_rate(index, observed, compiled=False)
        del observed
    matcher = Matcher(index)
    matcher.feed_all(observations(observation_count // 10, indicator_count))
    sightings = len(matcher.results())
    conn = _zeek_rate(Matcher(index), observation_count // 2, indicator_count)
    return {
        "indicators": indicator_count,
        "compiled": index.compiled,
        "build_s": build_s,
        "rss_before_mb": before_kb / 1024,
        "rss_after_build_mb": after_build_kb / 1024,
        "index_mb": (after_build_kb - before_kb) / 1024,
        "mb_per_million_indicators": (after_build_kb - before_kb) / 1024 * 1e6 / indicator_count,
        "peak_rss_during_build_mb": peak_build_kb / 1024,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "observations": observation_count,
        "observations_per_s": rates,
        "loop": "compiled" if COMPILED else "python",
        "sightings": sightings,
        "zeek_conn_lines": conn["lines"],
        "zeek_conn_per_s": conn["per_s"],
    }


def _zeek_rate(matcher: Matcher, lines: int, indicator_count: int) -> dict[str, Any]:
    """End to end: a Zeek conn.log on disk through the reader and the matcher."""
    rng = random.Random(5)
    header = (
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration"
        "\torig_bytes\tresp_bytes\tconn_state\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum"
        "\tstring\tinterval\tcount\tcount\tstring\n"
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "conn.log"
        with path.open("w") as out:
            out.write(header)
            for i in range(lines):
                target = (
                    ipv4(rng.randrange(indicator_count) * 7919)
                    if rng.random() < 0.01
                    else f"172.{rng.randrange(16, 32)}.{i & 255}.7"
                )
                source = f"10.0.{i >> 8 & 255}.{i & 255}"
                out.write(
                    f"{1704067200 + i / 1000:.6f}\tC{i}\t{source}\t{40000 + i % 20000}"
                    f"\t{target}\t443\ttcp\tssl\t0.5\t100\t2000\tSF\n"
                )
        began = time.perf_counter()
        run = match_inputs(matcher, [str(path)], fmt="zeek", now_us=NOW)
        elapsed = time.perf_counter() - began
    return {"lines": run.observations, "per_s": run.observations / elapsed}


# -- reporting ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--indicators", type=int, default=10_000)
    parser.add_argument("--observations", type=int, default=100_000)
    parser.add_argument("--sample-patterns", type=int, default=100)
    parser.add_argument("--sample-observations", type=int, default=60)
    parser.add_argument("--million", type=int, default=1_000_000)
    parser.add_argument("--scale-observations", type=int, default=200_000)
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--scale-worker", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scale_worker:
        print(json.dumps(scale_worker(*args.scale_worker)))
        return
    if args.quick:
        args.indicators, args.observations = 1_000, 5_000
        args.sample_patterns, args.sample_observations = 20, 20
        args.million, args.scale_observations = 50_000, 20_000
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_1m": os.getloadavg()[0],
    }
    print(f"# Pattern matching benchmark ({report['when']}, Python {report['python']})\n")
    observed = observations(args.observations, args.indicators)
    ours = kakehashi_run(args.indicators, observed)
    report["kakehashi"] = ours
    print(f"## {args.indicators:,} indicators x {args.observations:,} observations\n")
    print("| | Kakehashi | stix2-matcher | ratio |")
    print("|---|---:|---:|---:|")
    if not args.skip_reference:
        reference = reference_run(
            args.indicators, observed, args.sample_patterns, args.sample_observations
        )
        report["stix2_matcher"] = reference
        ratio = ours["observations_per_s"] / reference["observations_per_s_at_full_size"]
        report["ratio"] = ratio
        print(
            f"| observations/s against {args.indicators:,} patterns |"
            f" {ours['observations_per_s']:,.0f} |"
            f" {reference['observations_per_s_at_full_size']:.3f} (extrapolated) |"
            f" **{ratio:,.0f}x** |"
        )
        print(
            f"| compile, per pattern | {ours['build_s'] / args.indicators * 1e6:.1f} µs |"
            f" {reference['compile_s_per_pattern'] * 1e6:,.0f} µs |"
            f" {reference['compile_s_per_pattern'] / (ours['build_s'] / args.indicators):,.0f}x |"
        )
        print(
            f"\nstix2-matcher sample: {reference['sample_patterns']} patterns x"
            f" {reference['sample_observations']} observations,"
            f" {reference['seconds_per_pair_one_call_each'] * 1e6:,.0f} µs per pair one call each,"
            f" {reference['seconds_per_pair_one_call_per_pattern'] * 1e6:,.0f} µs per pair one call"
            f" per pattern; {reference['matched_pairs']} matching pairs,"
            f" {reference['disagreements']} disagreements with Kakehashi."
        )
    else:
        print(f"| observations/s | {ours['observations_per_s']:,.0f} | (skipped) | |")
    print(
        f"\nKakehashi: compiled {ours['compiled']:,} in {ours['build_s']:.2f} s, matched"
        f" {ours['observations']:,} in {ours['match_s']:.2f} s; {ours['sightings']:,} Sightings"
        f" from {ours['matched_observations']:,} matching observations."
    )
    if not args.skip_scale:
        command = [
            sys.executable,
            __file__,
            "--scale-worker",
            str(args.million),
            str(args.scale_observations),
        ]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        scale = json.loads(output.strip().splitlines()[-1])
        report["scale"] = scale
        print(f"\n## Kakehashi alone, {scale['indicators']:,} indicators\n")
        print("| measure | value | target | met |")
        print("|---|---:|---:|---|")
        rates = scale["observations_per_s"]
        print(f"| matching loop | {scale['loop']} | | |")
        for label, what in (("unique", "new addresses"), ("repeating", "repeating hosts")):
            rate, wall = rates[label]["cpu"], rates[label]["wall"]
            print(
                f"| observations/s per core, {what}, streamed (wall clock: {wall:,.0f}) |"
                f" {rate:,.0f} | 1,000,000 | {'yes' if rate >= 1e6 else 'NO'} |"
            )
            for key, how in (("held", f"{scale['loop']} loop"), ("held_python", "Python loop")):
                held = rates[f"{label}_{key}"]["cpu"]
                print(f"| … {what}, {how}, observations held in memory | {held:,.0f} | | |")
        print(f"| observations/s, Zeek conn.log end to end | {scale['zeek_conn_per_s']:,.0f} | | |")
        per_million = scale["mb_per_million_indicators"]
        print(
            f"| index memory per million indicators | {per_million:,.0f} MB | 300 MB |"
            f" {'yes' if per_million <= 300 else 'NO'} |"
        )
        print(f"| peak resident memory of the process | {scale['peak_rss_mb']:,.0f} MB | | |")
        print(
            f"| compile | {scale['build_s']:.1f} s"
            f" ({scale['build_s'] / scale['indicators'] * 1e6:.1f} µs each) | | |"
        )
        if not args.skip_reference:
            print(
                f"| ratio to stix2-matcher (part one) | {report['ratio']:,.0f}x | 1,000x |"
                f" {'yes' if report['ratio'] >= 1000 else 'NO'} |"
            )
    if report["load_1m"] > (os.cpu_count() or 1) * 0.5:
        load = report["load_1m"]
        print(f"\nWARNING: load average {load:.1f} at the start: other work shared the CPUs.")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"match-{stamp}.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
