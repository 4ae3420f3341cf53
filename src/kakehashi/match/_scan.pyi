"""Types of the compiled matching loop (``_scan.c``); see :mod:`kakehashi.match.engine`."""

from collections.abc import Callable, Iterable
from typing import Any

def feed(
    observations: Iterable[Any],
    plans: dict[str, Any],
    hits: dict[int, Any],
    resolve: Callable[[dict[int, Any], Any], None],
    slow: Callable[[Any, Any, Any, dict[int, Any]], None],
    fallback: Callable[[Any], int],
) -> int: ...
def parse_ipv4(text: str) -> int | None: ...
