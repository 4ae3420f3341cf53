"""Smoke test of bench/exposure_bench.py at tiny sizes: it runs and its figures are sane.

No timing is asserted: the machine running the tests says nothing about the engine.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.serial
def test_quick_run_finds_exposures_and_prints_the_ratio(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    bench: Any = importlib.import_module("exposure_bench")
    argv = ["--quick", "--assets", "3000", "--cves", "800", "--products", "400"]
    argv += ["--vendors", "60", "--operators", "6", "--kev", "20", "--agree-assets", "200"]
    argv += ["--naive-assets", "4", "--workdir", str(tmp_path), "--no-save"]
    report = bench.main(argv)
    out = capsys.readouterr().out
    run = report["run"]
    assert run["advisories"] == 800
    assert set(run["runs"]) == {"1", "2"}
    for phases in run["runs"].values():
        assert phases["assets"] == 3000
        assert phases["exposures"] > 0
        assert 0 < phases["exposed_share"] < 1
    assert run["runs"]["1"]["exposures"] == run["runs"]["2"]["exposures"]
    assert run["peak_rss_mb"] > 0
    naive = run["naive"]
    assert naive["timed_pairs"] == 4 * run["affected_entries"]
    assert naive["agreement_pairs"] > 0
    assert "**total, end to end**" in out
    assert "x** |" in out  # the ratio against the naive baseline
    assert "Every run found the same number of exposures: yes." in out
    # the data is reused from the work directory the second time
    again = bench.main([*argv, "--skip-naive", "--workers", "1"])
    assert again["data"]["reused"] is True
    assert again["run"]["runs"]["1"]["exposures"] == run["runs"]["1"]["exposures"]
    sys.modules.pop("exposure_bench", None)
    sys.modules.pop("exposure_data", None)
