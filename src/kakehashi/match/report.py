"""The summary printed at the end of a run: indicators, inputs, problems, Sightings."""

from __future__ import annotations

from kakehashi.match.compile import Index, Status
from kakehashi.match.run import RunResult
from kakehashi.stix.timestamps import format_us

__all__ = ["render_summary"]

#: Rows of each listing (skipped indicators, Sightings); the counts are always complete.
SHOWN = 20


def _seconds(micros: int) -> str:
    return format_us(micros)[:19] + "Z"


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
