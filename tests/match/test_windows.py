"""``--window``: one Sighting per indicator per epoch-aligned window of observation times."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kakehashi.match.command import match_command
from kakehashi.match.engine import IndicatorMatch, Matcher
from kakehashi.match.report import render_summary
from kakehashi.match.run import match_inputs
from kakehashi.match.sightings import SIGHTING_NAMESPACE, sighting, sighting_id, sightings
from kakehashi.match.windows import Window, format_duration_s, parse_duration_s
from kakehashi.stix.timestamps import format_us, parse_timestamp_us
from kakehashi.stix.validate import validate_object

from .helpers import NOW, T0, domain, index_of, indicator, ip, obs

#: Through the compiled loop and the Python one (conftest.engine_loop).
pytestmark = pytest.mark.usefixtures("engine_loop")

FIXTURES = Path(__file__).parent / "fixtures"
INDICATORS = str(FIXTURES / "indicators.json")
IDENTITY = "identity--5f0e7a3c-2a71-4bb2-9e9b-0c2f1d8a6b11"
SECOND = 1_000_000
EVIL_IP = "indicator--00000000-0000-4000-8000-000000000001"  # 198.51.100.7 in the fixtures

_CONN_HEAD = (
    "#separator \\x09\n"
    "#set_separator\t,\n"
    "#empty_field\t(empty)\n"
    "#unset_field\t-\n"
    "#path\tconn\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration"
    "\torig_bytes\tresp_bytes\tconn_state\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount"
    "\tstring\n"
)


def conn_log(path: Path, rows: list[tuple[float, str, str]]) -> str:
    """A Zeek conn.log of (seconds after T0, responder address, duration or "-")."""
    lines = [
        f"{T0 / SECOND + at:.6f}\tC{n}\t10.0.0.5\t{50000 + n}\t{host}\t443\ttcp\t-\t{duration}"
        "\t1\t1\tSF\n"
        for n, (at, host, duration) in enumerate(rows)
    ]
    path.write_text(_CONN_HEAD + "".join(lines))
    return str(path)


def observed_data(n: int, at: float, value: str, number: int = 1) -> dict[str, Any]:
    """A bundle of one observed-data (id ending in ``n``) of an IPv4 address."""
    stamp = format_us(T0 + round(at * SECOND))
    sco_id = f"ipv4-addr--00000000-0000-4000-8000-{n:012d}"
    return {
        "type": "bundle",
        "id": f"bundle--00000000-0000-4000-8000-{n:012d}",
        "objects": [
            {
                "type": "observed-data",
                "spec_version": "2.1",
                "id": f"observed-data--00000000-0000-4000-8000-{n:012d}",
                "created": stamp,
                "modified": stamp,
                "first_observed": stamp,
                "last_observed": stamp,
                "number_observed": number,
                "object_refs": [sco_id],
            },
            {"type": "ipv4-addr", "spec_version": "2.1", "id": sco_id, "value": value},
        ],
    }


def invoke(*args: str) -> Result:
    return CliRunner().invoke(
        match_command,
        ["--indicators", INDICATORS, "--identity", IDENTITY, *args],
        catch_exceptions=False,
    )


def sightings_of(result: Result, indicator_id: str = EVIL_IP) -> list[dict[str, Any]]:
    """The Sightings of one indicator in the bundle on standard output, by first_seen."""
    assert result.exit_code == 0, result.output
    bundle = json.loads(result.stdout)
    found = [o for o in bundle["objects"] if o.get("sighting_of_ref") == indicator_id]
    for obj in bundle["objects"]:
        validate_object(obj, json.dumps(obj))
    return sorted(found, key=lambda o: o["first_seen"])


def at(seconds: float) -> str:
    return format_us(T0 + round(seconds * SECOND))


# -- durations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("15m", 900),
        ("1h", 3600),
        ("1d", 86_400),
        ("900", 900),
        ("1", 1),
        (" 2H ", 7200),
        ("3650d", 3650 * 86_400),
    ],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration_s(text) == seconds


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "is not a duration"),
        ("0", "at least 1 second"),
        ("0h", "at least 1 second"),
        ("1.5h", "is not a duration"),
        ("-5m", "is not a duration"),
        ("1w", "is not a duration"),
        ("1h30m", "is not a duration"),
        ("h", "is not a duration"),
        ("\u0661\u0665m", "is not a duration"),  # Arabic-Indic digits: ASCII only
        ("3651d", "at most 3650d"),
    ],
)
def test_bad_durations(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_duration_s(text)


def test_durations_are_spelt_back_exactly() -> None:
    assert [format_duration_s(s) for s in (30, 90, 900, 3600, 5400, 86_400, 172_800)] == [
        "30s",
        "90s",
        "15m",
        "1h",
        "90m",
        "1d",
        "2d",
    ]


@pytest.mark.parametrize("value", ["0", "15 minutes", "1.5h", "-1"])
def test_a_bad_window_is_a_usage_error_naming_the_option(value: str) -> None:
    result = CliRunner().invoke(
        match_command,
        ["--indicators", INDICATORS, "--identity", IDENTITY, "--window", value],
        input=b"",
    )
    assert result.exit_code == 2
    assert "Invalid value for '--window'" in result.stderr
    assert repr(value) in result.stderr


# -- windows of Zeek and STIX logs ---------------------------------------------------------


def test_a_zeek_log_split_into_15_minute_windows(tmp_path: Path) -> None:
    log = conn_log(
        tmp_path / "conn.log",
        [
            (0, "198.51.100.7", "-"),
            (10, "198.51.100.7", "-"),
            (890, "198.51.100.7", "20.0"),  # starts in the first window, ends in the second
            (899.999999, "198.51.100.7", "-"),
            (900, "198.51.100.7", "-"),  # exactly on a boundary: the second window
            (901, "192.0.2.99", "-"),  # matches nothing
            (1000, "203.0.113.9", "-"),  # indicator 4: 203.0.113.0/24
            (2700.5, "198.51.100.7", "-"),  # 00:30-00:45 has none: the fourth window
            (3599, "198.51.100.7", "-"),
        ],
    )
    result = invoke("--window", "15m", log)
    found = sightings_of(result)
    assert [(s["count"], s["first_seen"], s["last_seen"]) for s in found] == [
        (4, at(0), at(910)),  # last_seen is the latest last_observed, past the window's end
        (1, at(900), at(900)),
        (2, at(2700.5), at(3599)),
    ]
    assert [s["created"] for s in found] == [at(0), at(900), at(2700)]
    assert all(s["where_sighted_refs"] == [IDENTITY] for s in found)
    assert all(s["created_by_ref"] == IDENTITY for s in found)
    assert all("observed_data_refs" not in s for s in found)
    assert len({s["id"] for s in found}) == 3
    # the summary adds the windows up per indicator
    summary = result.stderr
    assert (
        "Sightings: 4, one per indicator per 15m window (aligned to the Unix epoch):"
        " 2 indicator(s) in 3 window(s) from 2024-01-01T00:00:00Z to 2024-01-01T01:00:00Z"
    ) in summary
    rows = {line.split()[0]: line.split()[1:5] for line in summary.splitlines()[-2:]}
    assert rows == {
        EVIL_IP: ["7", "3", "2024-01-01T00:00:00Z", "2024-01-01T00:59:59Z"],
        "indicator--00000000-0000-4000-8000-000000000004": [
            "1",
            "1",
            "2024-01-01T00:16:40Z",
            "2024-01-01T00:16:40Z",
        ],
    }


def test_windows_are_aligned_to_the_epoch_not_to_the_run(tmp_path: Path) -> None:
    # 7 s does not divide T0 (1704067200 = 7 * 243438171 + 3): the window holding T0 + 0
    # starts 3 s before it, whatever the first observation of the run
    assert (T0 // SECOND) % 7 == 3
    log = conn_log(tmp_path / "conn.log", [(0, "198.51.100.7", "-"), (4.5, "198.51.100.7", "-")])
    found = sightings_of(invoke("--window", "7", log))
    assert [(s["created"], s["count"]) for s in found] == [(at(-3), 1), (at(4), 1)]
    # a run over the later half alone uses the same grid and the same id
    later = conn_log(tmp_path / "later.log", [(4.5, "198.51.100.7", "-")])
    (alone,) = sightings_of(invoke("--window", "7", later))
    assert (alone["id"], alone["created"]) == (found[1]["id"], at(4))


def test_observed_data_refs_and_counts_per_window(tmp_path: Path) -> None:
    path = tmp_path / "observed.jsonl"
    bundles = [
        observed_data(1, 5, "198.51.100.7", number=3),
        observed_data(2, 30, "198.51.100.7"),
        observed_data(3, 59, "192.0.2.99"),  # matches nothing
        observed_data(4, 60, "198.51.100.7", number=2),
        observed_data(5, 119.5, "198.51.100.7"),
    ]
    path.write_text("".join(json.dumps(b) + "\n" for b in bundles))
    found = sightings_of(invoke("--window", "1m", str(path)))
    refs = "observed-data--00000000-0000-4000-8000-00000000000"
    assert [(s["count"], s["observed_data_refs"]) for s in found] == [
        (4, [f"{refs}1", f"{refs}2"]),
        (3, [f"{refs}4", f"{refs}5"]),
    ]
    assert [(s["first_seen"], s["last_seen"]) for s in found] == [
        (at(5), at(30)),
        (at(60), at(119.5)),
    ]


def test_a_match_over_several_observations_is_in_the_window_of_its_first() -> None:
    matcher = Matcher(
        index_of(
            "[domain-name:value = 'evil.example.com'] FOLLOWEDBY"
            " [ipv4-addr:value = '198.51.100.7'] WITHIN 60 SECONDS"
        ),
        window_us=10 * SECOND,
    )
    matcher.feed_all(
        [
            obs(domain("evil.example.com"), at=55),
            obs(ip("198.51.100.7"), at=65),
            obs(domain("evil.example.com"), at=71),
            obs(ip("198.51.100.7"), at=79),
        ]
    )
    results = matcher.results()
    assert [(m.window, m.count, m.first_seen_us, m.last_seen_us) for m in results] == [
        (Window(T0 + 50 * SECOND, 10 * SECOND), 1, T0 + 55 * SECOND, T0 + 65 * SECOND),
        (Window(T0 + 70 * SECOND, 10 * SECOND), 1, T0 + 71 * SECOND, T0 + 79 * SECOND),
    ]


def test_observations_without_a_time_fall_in_the_window_of_the_run(tmp_path: Path) -> None:
    path = tmp_path / "scos.jsonl"
    path.write_text(json.dumps(ip("198.51.100.7")) + "\n" + json.dumps(ip("198.51.100.7")) + "\n")
    run_at = NOW + 1234 * SECOND + 5
    matcher = Matcher(index_of("[ipv4-addr:value = '198.51.100.7']"), window_us=3600 * SECOND)
    run = match_inputs(matcher, [str(path)], now_us=run_at)
    (match,) = run.matches
    assert match.window == Window(NOW, 3600 * SECOND)  # NOW is on an hour boundary
    assert (match.count, match.first_seen_us, match.last_seen_us) == (2, run_at, run_at)
    assert run.window_us == 3600 * SECOND


@pytest.mark.parametrize("window_us", [0, -SECOND, SECOND // 2, 3 * SECOND + 1])
def test_the_matcher_wants_windows_of_whole_seconds(window_us: int) -> None:
    with pytest.raises(ValueError, match="positive whole number of seconds"):
        Matcher(index_of("[ipv4-addr:value = '198.51.100.7']"), window_us=window_us)


# -- ids and versions ----------------------------------------------------------------------


def test_window_ids_are_the_documented_uuid5() -> None:
    window = Window(T0 + 900 * SECOND, 900 * SECOND)
    expected = uuid.uuid5(
        uuid.UUID("8c966f56-2bff-47b3-8254-14ef5af75c08"),
        f"{EVIL_IP} {IDENTITY} {T0 // SECOND + 900} 900",
    )
    assert uuid.UUID("8c966f56-2bff-47b3-8254-14ef5af75c08") == SIGHTING_NAMESPACE
    assert sighting_id(EVIL_IP, IDENTITY, window) == f"sighting--{expected}"
    assert expected.version == 5
    # every part of the name counts
    others = {
        sighting_id(EVIL_IP, IDENTITY, Window(T0, 900 * SECOND)),
        sighting_id(EVIL_IP, IDENTITY, Window(T0 + 900 * SECOND, 300 * SECOND)),
        sighting_id(EVIL_IP, "identity--00000000-0000-4000-8000-000000000001", window),
        sighting_id(indicator(2, "[x:y = 1]")["id"], IDENTITY, window),
    }
    assert len(others) == 4
    assert f"sighting--{expected}" not in others


def test_a_window_sighting_is_valid_and_versioned_by_the_run() -> None:
    window = Window(T0, 3600 * SECOND)
    match = IndicatorMatch(EVIL_IP, 3, T0 + 5, T0 + 7, (), "198.51.100.7", window)
    first = sighting(match, identity=IDENTITY, created_us=NOW)
    again = sighting(match, identity=IDENTITY, created_us=NOW + 1)
    validate_object(first, json.dumps(first))
    assert first["id"] == again["id"]
    assert first["created"] == again["created"] == format_us(T0)
    assert (first["modified"], again["modified"]) == (format_us(NOW), format_us(NOW + 1))
    # logs from the future (a skewed clock): modified is never before created
    early = sighting(match, identity=IDENTITY, created_us=T0 - 10 * SECOND)
    assert early["modified"] == early["created"] == format_us(T0)
    validate_object(early, json.dumps(early))


def test_a_rerun_over_the_same_logs_updates_rather_than_duplicates(tmp_path: Path) -> None:
    log = conn_log(tmp_path / "conn.log", [(0, "198.51.100.7", "-"), (4000, "198.51.100.7", "-")])
    first = sightings_of(invoke("--window", "1h", log))
    second = sightings_of(invoke("--window", "1h", log))
    assert [s["id"] for s in first] == [s["id"] for s in second]
    assert len(first) == 2
    for old, new in zip(first, second, strict=True):
        assert parse_timestamp_us(new["modified"]) > parse_timestamp_us(old["modified"])
        assert {k: v for k, v in old.items() if k != "modified"} == {
            k: v for k, v in new.items() if k != "modified"
        }


# -- without --window ----------------------------------------------------------------------


def test_without_a_window_one_sighting_per_indicator_with_a_new_id_each_run(
    tmp_path: Path,
) -> None:
    log = conn_log(tmp_path / "conn.log", [(0, "198.51.100.7", "-"), (4000, "198.51.100.7", "-")])
    (first,) = sightings_of(invoke(log))
    (second,) = sightings_of(invoke(log))
    assert (first["count"], first["first_seen"], first["last_seen"]) == (2, at(0), at(4000))
    assert first["id"] != second["id"]
    assert uuid.UUID(first["id"].removeprefix("sighting--")).version == 4
    assert first["created"] == first["modified"]
    assert parse_timestamp_us(first["created"]) > NOW


def test_a_run_without_windows_has_matches_without_windows() -> None:
    matcher = Matcher(index_of("[ipv4-addr:value = '198.51.100.7']"))
    matcher.feed_all([obs(ip("198.51.100.7"), at=0), obs(ip("198.51.100.7"), at=86_400)])
    (match,) = matcher.results()
    assert (match.window, match.count) == (None, 2)
    (obj,) = sightings([match], identity=IDENTITY, created_us=NOW)
    assert obj["created"] == obj["modified"] == format_us(NOW)


def test_the_summary_of_a_windowed_run_without_sightings() -> None:
    matcher = Matcher(index_of("[ipv4-addr:value = '198.51.100.7']"), window_us=86_400 * SECOND)
    run = match_inputs(matcher, [], now_us=NOW)
    summary = render_summary(matcher.index, run)
    assert summary.endswith("Sightings: 0 (1d windows, aligned to the Unix epoch)")


def test_the_summary_says_when_the_python_loop_matched(engine_loop: str) -> None:
    matcher = Matcher(index_of("[ipv4-addr:value = '198.51.100.7']"))
    assert matcher.compiled is (engine_loop == "compiled")
    summary = render_summary(matcher.index, match_inputs(matcher, [], now_us=NOW))
    assert ("matched by the Python loop" in summary) is (engine_loop == "python")
