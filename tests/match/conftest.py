"""Run matching tests through both loops of the engine: the compiled one (``_scan.c``) and
the Python one it mirrors. A module opts in with ``pytestmark = LOOPS``."""

from __future__ import annotations

import os

import pytest

from kakehashi.match import engine

#: CI sets this: there, a missing compiled loop is a failure, never a skip.
COMPILED_REQUIRED = os.environ.get("KAKEHASHI_REQUIRE_COMPILED") == "1"


@pytest.fixture(params=["compiled", "python"])
def engine_loop(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which loop the engine runs in this test; ``python`` hides the compiled module."""
    loop: str = request.param
    if loop == "python":
        monkeypatch.setattr(engine, "_scan", None)
    elif not engine.COMPILED:
        message = "kakehashi.match._scan was not built (no C compiler at install)"
        if COMPILED_REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    return loop
