"""One matching run: read the inputs in turn, feed the matcher, account for every problem.

Bad input never loses work: a malformed line is counted (the first ones are kept with
their line numbers) and reading goes on; a fatal problem (a truncated file, an unreadable
one) or Ctrl-C ends the run, and the result holds everything matched up to there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO

from kakehashi.match.engine import IndicatorMatch, Matcher
from kakehashi.match.errors import MatchInputError
from kakehashi.match.inputs import CsvLayout, InputFile, read_observations
from kakehashi.match.observation import Observation, Problem

__all__ = ["RunResult", "SourceResult", "match_inputs"]

#: Problems kept per input for the summary (all are counted).
KEPT_PROBLEMS = 20
_PROGRESS_EVERY = 2048


@dataclass(slots=True)
class SourceResult:
    """What happened to one input."""

    name: str
    observations: int = 0
    problems: int = 0
    examples: list[Problem] = field(default_factory=list)


@dataclass(slots=True)
class RunResult:
    """What a run read and matched.

    Attributes:
        sources: per input, in the order read.
        matches: one per indicator that matched (per indicator per window with a match,
            when the matcher has a window length).
        stopped_by: the fatal problem that ended the run early, if any.
        interrupted: whether Ctrl-C ended it.
        observations, matched_observations: totals.
        overflowed, unfinished: indicator ids whose multi-observation matching was cut
            short (too many candidates kept; search budget spent).
        elapsed_s: wall-clock time of the run.
        window_us: the matcher's window length, if any.
        compiled: whether the compiled loop matched (``False``: the Python loop).
    """

    sources: list[SourceResult]
    matches: list[IndicatorMatch]
    stopped_by: Problem | None
    interrupted: bool
    observations: int
    matched_observations: int
    overflowed: list[str]
    unfinished: list[str]
    elapsed_s: float
    window_us: int | None = None
    compiled: bool = True

    @property
    def complete(self) -> bool:
        return self.stopped_by is None and not self.interrupted


def match_inputs(
    matcher: Matcher,
    paths: Sequence[str],
    *,
    fmt: str = "auto",
    now_us: int,
    csv_layout: CsvLayout | None = None,
    stdin: IO[bytes] | None = None,
    progress: Callable[[int], None] | None = None,
) -> RunResult:
    """Match every input, in order, and return the results.

    Args:
        matcher: fed with every observation.
        paths: files, or ``-`` for ``stdin``.
        fmt: an input format (``auto`` detects it per file).
        now_us: the time for observations that carry none, and for the run.
        csv_layout: the CSV column mapping, for CSV inputs.
        stdin: what ``-`` reads.
        progress: called with the number of input bytes consumed since the last call.
    """
    started = time.perf_counter()
    results: list[SourceResult] = []
    stopped: Problem | None = None
    interrupted = False
    try:
        for path in paths:
            result = SourceResult("<stdin>" if path == "-" else path)
            results.append(result)
            try:
                source = InputFile(path, stdin=stdin)
            except MatchInputError as exc:
                stopped = Problem(result.name, None, exc.reason, fatal=True)
                _note(result, stopped)
                break
            with source:
                try:
                    items = read_observations(source, fmt, now_us=now_us, csv_layout=csv_layout)
                except MatchInputError as exc:
                    stopped = Problem(result.name, exc.line, exc.reason, fatal=True)
                    _note(result, stopped)
                    break
                stopped = _feed(matcher, items, result, source, progress)
            if stopped is not None:
                break
    except KeyboardInterrupt:
        interrupted = True
    matches = matcher.results()
    ids = matcher.index.ids
    return RunResult(
        sources=results,
        matches=matches,
        stopped_by=stopped,
        interrupted=interrupted,
        observations=matcher.observations,
        matched_observations=matcher.matched_observations,
        overflowed=sorted(ids[s] for s in matcher.overflowed),
        unfinished=sorted(ids[s] for s in matcher.unfinished),
        elapsed_s=time.perf_counter() - started,
        window_us=matcher.window_us,
        compiled=matcher.compiled,
    )


def _note(result: SourceResult, problem: Problem) -> None:
    result.problems += 1
    if len(result.examples) < KEPT_PROBLEMS or problem.fatal:
        result.examples.append(problem)


def _feed(
    matcher: Matcher,
    items: Iterable[Observation | Problem],
    result: SourceResult,
    source: InputFile,
    progress: Callable[[int], None] | None,
) -> Problem | None:
    """Match what one input yields; account for its problems. The matcher gets one stream
    (one call into its loop for the whole input, not one per observation: that call cost
    more than matching an observation); problems are noted as the stream passes them."""
    stopped: list[Problem] = []
    reported = 0

    def observations() -> Iterator[Observation]:
        nonlocal reported
        for count, item in enumerate(items, 1):
            if type(item) is Observation:
                result.observations += 1
                yield item
            else:
                assert isinstance(item, Problem)
                _note(result, item)
                if item.fatal:
                    stopped.append(item)
                    return
            if progress is not None and count % _PROGRESS_EVERY == 0:
                position = source.position()
                progress(position - reported)
                reported = position

    try:
        matcher.feed_all(observations())
    except MatchInputError as exc:
        problem = Problem(result.name, exc.line, exc.reason, fatal=True)
        _note(result, problem)
        return problem
    finally:
        if progress is not None:
            position = source.position() if source.size is not None else reported
            progress(max(0, (source.size or position) - reported))
    return stopped[0] if stopped else None
