"""The public API is exactly what kakehashi.__all__ lists (httpx keeps the same test)."""

from __future__ import annotations

import kakehashi


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in vars(kakehashi) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(kakehashi, name)).__name__ == "module"}
    assert set(kakehashi.__all__) - {"__version__"} == public - modules
    assert kakehashi.__version__ == "0.1.0"


def test_every_listed_name_resolves() -> None:
    for name in kakehashi.__all__:
        assert getattr(kakehashi, name) is not None
