"""Detection: STIX patterns compiled into indexes, matched against logs, reported as Sightings.

Modules, each importing only from those before it (``errors``, ``observation`` and
``windows`` underlie them all)::

    ast, normalise -> parse -> evaluate -> temporal -> anchors -> probe -> compile
        -> engine -> inputs -> run -> sightings -> report -> command (the CLI, and the only
        module that talks HTTP, through kakehashi.sync.client)

Typical use::

    from kakehashi.match import IndexBuilder, Matcher, parse

    builder = IndexBuilder(now_us=now)
    builder.add_all(stix_objects)          # indicators; everything else is ignored
    matcher = Matcher(builder.build())
    matcher.feed_all(observations)         # Observation(objects, first_us, last_us, ...)
    for match in matcher.results():
        ...
"""

from kakehashi.match.ast import Pattern
from kakehashi.match.compile import Index, IndexBuilder, Skipped, Status
from kakehashi.match.engine import IndicatorMatch, Matcher
from kakehashi.match.errors import MatchInputError, PatternSyntaxError
from kakehashi.match.observation import Observation, Problem
from kakehashi.match.parse import parse

__all__ = [
    "Index",
    "IndexBuilder",
    "IndicatorMatch",
    "MatchInputError",
    "Matcher",
    "Observation",
    "Pattern",
    "PatternSyntaxError",
    "Problem",
    "Skipped",
    "Status",
    "parse",
]
