"""The summary printed at the end of a run: indicators, inputs, problems, Sightings."""

from __future__ import annotations

from dataclasses import dataclass

from kakehashi.match.compile import Index, Status
from kakehashi.match.engine import IndicatorMatch
from kakehashi.match.run import RunResult
from kakehashi.match.windows import format_duration_s
from kakehashi.stix.timestamps import format_us

__all__ = ["render_summary"]

#: Rows of each listing (skipped indicators, Sightings); the counts are always complete.
SHOWN = 20


def _seconds(micros: int) -> str:
    return format_us(micros)[:19] + "Z"


@dataclass(slots=True)
class _Total:
    """One indicator's Sightings of a windowed run, added up."""

    indicator_id: str
    count: int
    windows: int
    first_seen_us: int
    last_seen_us: int
    example: str


def _totals(matches: list[IndicatorMatch]) -> list[_Total]:
    totals: dict[str, _Total] = {}
    for match in matches:
        total = totals.get(match.indicator_id)
        if total is None:
            totals[match.indicator_id] = _Total(
                match.indicator_id,
                match.count,
                1,
                match.first_seen_us,
                match.last_seen_us,
                match.example,
            )
        else:
            total.count += match.count
            total.windows += 1
            total.first_seen_us = min(total.first_seen_us, match.first_seen_us)
            total.last_seen_us = max(total.last_seen_us, match.last_seen_us)
    return list(totals.values())


def _windowed(run: RunResult, window_us: int, shown: int) -> list[str]:
    """The Sightings of a windowed run: a line about the windows, then totals per indicator."""
    length = format_duration_s(window_us // 1_000_000)
    if not run.matches:
        return [f"Sightings: 0 ({length} windows, aligned to the Unix epoch)"]
    starts = {m.window.start_us for m in run.matches if m.window is not None}
    totals = _totals(run.matches)
    lines = [
        f"Sightings: {len(run.matches):,}, one per indicator per {length} window (aligned to"
        f" the Unix epoch): {len(totals):,} indicator(s) in {len(starts):,} window(s) from"
        f" {_seconds(min(starts))} to {_seconds(max(starts) + window_us)}; per indicator:",
        f"  {'indicator':<48} {'count':>9} {'windows':>7}  {'first seen':<20} {'last seen':<20}"
        " example",
    ]
    ranked = sorted(totals, key=lambda t: (-t.count, t.indicator_id))
    for total in ranked[:shown]:
        lines.append(
            f"  {total.indicator_id:<48} {total.count:>9,} {total.windows:>7,}"
            f"  {_seconds(total.first_seen_us):<20} {_seconds(total.last_seen_us):<20}"
            f" {total.example[:40]}"
        )
    if len(ranked) > shown:
        lines.append(f"  … and {len(ranked) - shown:,} more")
    return lines


def render_summary(index: Index, run: RunResult, *, shown: int = SHOWN) -> str:
    """A plain-text report of the run, for standard error."""
    lines: list[str] = []
    counts = index.counts()
    latest = sum(counts.values())
    skipped = latest - counts[Status.COMPILED]
    lines.append(
        f"Indicators: {latest:,} (latest versions of {index.versions_read:,} read),"
        f" {counts[Status.COMPILED]:,} compiled, {skipped:,} skipped"
    )
    if skipped:
        parts = [
            f"{counts[status]:,} {status.label}"
            for status in Status
            if status is not Status.COMPILED and counts[status]
        ]
        lines.append("  skipped: " + ", ".join(parts))
        reasons = [s for s in index.skipped() if s.status in (Status.INVALID, Status.UNSUPPORTED)]
        for item in reasons[:shown]:
            lines.append(f"    {item.indicator_id}: {item.reason}")
        if len(reasons) > shown:
            lines.append(f"    … and {len(reasons) - shown:,} more")
    rate = run.observations / run.elapsed_s if run.elapsed_s > 0 else 0.0
    bad = sum(s.problems for s in run.sources)
    lines.append(
        f"Observations: {run.observations:,} from {len(run.sources)} input(s) in"
        f" {run.elapsed_s:.1f} s ({rate:,.0f}/s); {run.matched_observations:,} matched;"
        f" {bad:,} malformed or unusable"
    )
    if not run.compiled:
        lines.append(
            "  matched by the Python loop: the compiled one was not built (no C compiler"
            " when Kakehashi was installed), three to five times slower"
        )
    for source in run.sources:
        lines.append(
            f"  {source.name}: {source.observations:,} observations, {source.problems:,} problems"
        )
        for problem in source.examples:
            where = f"{problem.source}:{problem.line}" if problem.line else problem.source
            lines.append(f"    {where}: {problem.reason}")
        if source.problems > len(source.examples):
            lines.append(f"    … and {source.problems - len(source.examples):,} more")
    if run.stopped_by is not None:
        lines.append(f"STOPPED EARLY: {run.stopped_by.source}: {run.stopped_by.reason};")
        lines.append("  the Sightings below cover the input read up to there")
    if run.interrupted:
        lines.append("INTERRUPTED: the Sightings below cover the input read so far")
    for label, ids in (
        ("too many pending observations (older ones dropped)", run.overflowed),
        ("search budget spent (matches may be missed)", run.unfinished),
    ):
        if ids:
            lines.append(f"Multi-observation patterns cut short, {label}: {', '.join(ids[:shown])}")
    if run.window_us is not None:
        lines.extend(_windowed(run, run.window_us, shown))
        return "\n".join(lines)
    lines.append(f"Sightings: {len(run.matches):,}")
    if run.matches:
        header = f"  {'indicator':<48} {'count':>9}  {'first seen':<20} {'last seen':<20} example"
        lines.append(header)
        ranked = sorted(run.matches, key=lambda m: (-m.count, m.indicator_id))
        for match in ranked[:shown]:
            lines.append(
                f"  {match.indicator_id:<48} {match.count:>9,}  {_seconds(match.first_seen_us):<20}"
                f" {_seconds(match.last_seen_us):<20} {match.example[:40]}"
            )
        if len(ranked) > shown:
            lines.append(f"  … and {len(ranked) - shown:,} more")
    return "\n".join(lines)
