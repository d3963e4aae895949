"""docs/performance.md shows what benchmarks/report.py renders from benchmarks/published/, and the ratios compare
like with like."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks import report


def test_every_region_of_the_performance_page_is_rendered_from_the_published_results() -> None:
    text = report.DOC.read_text()
    found = {match["name"]: match["body"] for match in report.REGION.finditer(text)}
    rendered = report.render(report.load(report.PUBLISHED))
    assert set(found) == set(rendered), f"docs/performance.md has the regions {sorted(found)}, not {sorted(rendered)}"
    for name, body in found.items():
        assert body == rendered[name], (
            f"docs/performance.md's `{name}` region is not what benchmarks/published/ renders: the tables are "
            "generated, never edited; run the benchmarks, then `python benchmarks/report.py --publish`."
        )


def test_the_published_results_include_both_throughput_benchmarks() -> None:
    assert {"inprocess", "wire"} <= set(report.load(report.PUBLISHED))


def row(ending: str, value: float) -> dict[str, Any]:
    return {"ending": ending, "handshakes_per_second": value, "p50_ms": 1.25, "p99_ms": 20.0}


WIRE: dict[str, Any] = {
    "meta": {"concurrency": 32, "nproc": 2, "rounds": 3, "seconds": 5, "python": "3.11.7", "wrk": "4.1.0"},
    "cases": {
        "a  floor": row("denied", 4000),
        "b  FastAPI, included": row("denied", 2000),
        "b2 FastAPI, on the app": row("denied", 2500),
        "g  guard, included": row("denied", 1800),
        "g2 guard, as built": row("denied", 2000),
        "e  handlers": row("denied", 2250),
        "f  middleware": row("denied", 3600),
        "p  accept, included": row("accepted", 3000),
        "q  accept, RejectingRouter included": row("accepted", 2700),
        "q2 accept, RejectingRouter as built": row("accepted", 2700),
    },
}


def test_each_row_is_divided_by_the_floor_and_by_fastapis_like_for_like_case() -> None:
    lines = report.wire_table(WIRE).splitlines()
    assert lines[:2] == [
        "| case | handshakes/s | spread | p50 / p99 ms | ÷ floor | ÷ FastAPI's own |",
        "| --- | --: | --: | --: | --: | --: |",
    ]
    assert lines[2:12] == [
        "| **a** floor | 4,000 |  | 1.2 / 20.0 | 1.00 |  |",
        "| **b** FastAPI, included | 2,000 |  | 1.2 / 20.0 | 0.50 | 1.00 |",
        "| **b2** FastAPI, on the app | 2,500 |  | 1.2 / 20.0 | 0.62 | 1.00 |",
        "| **g** guard, included | 1,800 |  | 1.2 / 20.0 | 0.45 | 0.90 |",  # ÷ b
        "| **g2** guard, as built | 2,000 |  | 1.2 / 20.0 | 0.50 | 0.80 |",  # ÷ b2
        "| **e** handlers | 2,250 |  | 1.2 / 20.0 | 0.56 | 0.90 |",  # its route is on the app: ÷ b2
        "| **f** middleware | 3,600 |  | 1.2 / 20.0 | 0.90 |  |",
        "| **p** accept, included | 3,000 |  | 1.2 / 20.0 |  | 1.00 |",
        "| **q** accept, RejectingRouter included | 2,700 |  | 1.2 / 20.0 |  | 0.90 |",  # ÷ p
        "| **q2** accept, RejectingRouter as built | 2,700 |  | 1.2 / 20.0 |  |  |",  # no p2 measured
    ]
    assert "`wrk -t1 -c32`" in lines[13] and "3 interleaved rounds of 5 s" in lines[13]


def test_in_process_ratios_divide_microseconds_and_the_targets_are_checked() -> None:
    inprocess = {
        "meta": {"rounds": 7, "iterations": 2000, "memory": 100_000},
        "cases": {
            "a  floor": {"ending": "denied", "median_us": 2.0, "rounds_us": [2.2, 2.0, 1.9], "rss_growth_kib": 0},
            "b  FastAPI, included": {"ending": "denied", "median_us": 80.0, "rss_growth_kib": 4},
            "c  check, included": {"ending": "denied", "median_us": 84.0, "rss_growth_kib": 0},
            "f  middleware": {"ending": "denied", "median_us": 4.0, "rss_growth_kib": 0},
            "p  accept, included": {"ending": "accepted", "median_us": 50.0},
            "q  accept, RejectingRouter": {"ending": "accepted", "median_us": 52.0},
        },
    }
    table = report.inprocess_table(inprocess)
    assert "| **a** floor | 2.0 | 15% | 1.00 |  | +0 |" in table
    assert "| **c** check, included | 84.0 |  | 42.00 | 1.05 | +0 |" in table
    assert "| **q** accept, RejectingRouter | 52.0 |  |  | 1.04 |  |" in table
    targets = report.targets_table({"inprocess": inprocess, "wire": WIRE}).splitlines()
    assert targets[2:] == [
        "| a `Guard` on a route served as built ÷ the floor, wire | ≥ 0.9 | 0.50 | **no** |",
        "| a `Guard` on an included route ÷ the floor, wire | ≥ 0.9 | 0.45 | **no** |",
        "| FastAPI's own `HTTPException` ÷ the floor, wire (best row) | (for comparison) | 0.62 |  |",
        "| `WebSocketGuardMiddleware` ÷ the floor, wire | ≥ 0.97 | 0.90 | **no** |",
        "| `WebSocketGuardMiddleware` µs ÷ the floor's, in-process | ≤ 2 | 2.00 | yes |",
        "| `ws_guard` / `@reject_unless`, check taking the connection, µs ÷ FastAPI's own, in-process (worst row) "
        "| ≤ 1.05 | 1.05 | yes |",
        "| an accept on a `RejectingRouter` ÷ FastAPI's, in-process (furthest row) | 0.97 to 1.03 | 1.04 | **no** |",
        "| RSS growth per 100,000 rejections, KiB (worst case) | ≤ 2048 | 4.00 | yes |",
    ]


def test_a_region_is_rewritten_between_its_markers_and_an_unknown_one_is_refused() -> None:
    text = "prose\n<!-- benchmarks/report.py: wire -->\nold table\n<!-- end -->\nmore prose\n"
    new = report.rewrite(text, {"wire": "new table\n"})
    assert new == "prose\n<!-- benchmarks/report.py: wire -->\nnew table\n<!-- end -->\nmore prose\n"
    assert report.rewrite(new, {"wire": "new table\n"}) == new
    with pytest.raises(SystemExit, match="wire"):
        report.rewrite(text, {"inprocess": ""})


def test_missing_results_say_how_to_make_them_and_the_machine_line_lists_every_version() -> None:
    regions = report.render({"wire": WIRE})
    assert regions["flood"].startswith("Not measured yet: run `python benchmarks/flood.py`")
    assert regions["machine"] == "Measured on 2 CPUs, Python 3.11.7, wrk 4.1.0.\n"


def limited(ending: str, median_us: float, in_flight: float) -> dict[str, Any]:
    return {"ending": ending, "median_us": median_us, "in_flight_per_second": in_flight}


LIMITER: dict[str, Any] = {
    "meta": {
        "rounds": 3,
        "handshakes": 1000,
        "messages": 500,
        "concurrency": 32,
        "handshake_limit": [1, 60],
        "message_limit": [1_000_000, 60],
        "race": {"clients": 200, "processes": 2, "limit": [10, 60], "trials": 3},
        "fastapi_limiter": "0.2.0",
        "pyrate_limiter": "4.6.0",
        "redis_py": "8.1.0",
        "redis_server": "7.0.15",
    },
    "handshakes": {
        "r  floor": limited("refused", 1.0, 500_000),
        "p  FastAPI, no limit": limited("accepted", 25.0, 40_000),
        "t  theirs, on the app": limited("refused", 300.0, 3_000),
        "t1 theirs, included": limited("refused", 320.0, 2_500),
        "o  ours, as built": limited("refused", 200.0, 9_000),
        "o1 ours, included": limited("refused", 240.0, 5_000),
        "om ours, middleware": limited("refused", 180.0, 12_000),
    },
    "messages": {
        "mp FastAPI, no limit": {"median_us": 2.0},
        "mt theirs, Redis": {"median_us": 250.0},
        "mtm theirs, in memory": {"median_us": 12.0},
        "mo ours, Redis": {"median_us": 200.0},
        "mm ours, in memory": {"median_us": 18.0},
    },
    "races": {
        "o  ours": {"what": "handshakes", "passes": [10, 10, 10]},
        "t  theirs": {"what": "handshakes", "passes": [10, 11, 10]},
        "mo ours": {"what": "messages, one per socket", "passes": [10, 10, 10]},
        "mt theirs": {"what": "messages, one per socket", "passes": [12, 10, 10]},
    },
}


def test_the_limiter_tables_divide_each_of_ours_by_its_like_for_like_fastapi_limiter_row() -> None:
    lines = report.limiter_table(LIMITER).splitlines()
    assert "| **r** floor | 1.0 |  | 500,000 |  | 1.00 | 12.50 |  |" in lines
    assert "| **t** theirs, on the app | 300.0 |  | 3,000 |  | 0.006 | 0.075 |  |" in lines  # under 0.1: 3 decimals
    assert "| **o** ours, as built | 200.0 |  | 9,000 |  | 0.018 | 0.23 | 3.00 |" in lines  # ÷ t
    assert "| **o1** ours, included | 240.0 |  | 5,000 |  | 0.010 | 0.12 | 2.00 |" in lines  # ÷ t1
    assert "| **om** ours, middleware | 180.0 |  | 12,000 |  | 0.024 | 0.30 | 4.00 |" in lines  # ÷ t
    assert "| **p** FastAPI, no limit | 25.0 |  | 40,000 |  |  | 1.00 |  |" in lines  # no floor ratio: it accepts
    assert "| **mo** ours, Redis | 200.0 |  | +198.0 | 0.80 |" in lines  # ÷ mt
    assert "| **mm** ours, in memory | 18.0 |  | +16.0 | 1.50 |" in lines  # ÷ mtm
    assert "| **t** theirs | handshakes | 10, 11, 10 | **no** |" in lines
    assert "| **mo** ours | messages, one per socket | 10, 10, 10 | yes |" in lines
    assert lines[-1].startswith("fastapi-limiter 0.2.0 on pyrate-limiter 4.6.0")


def test_the_limiter_targets_hold_ours_to_fastapi_limiters_speed_and_to_exactly_the_limit() -> None:
    targets = report.targets_table({"limiter": LIMITER}).splitlines()
    assert targets[2:] == [
        "| `RateLimitGuard` on Redis, refusals/s in flight ÷ fastapi-limiter's (worst row) | ≥ 1 | 2.00 | yes |",
        "| `RateLimitGuard` on Redis, µs per refusal in turn ÷ fastapi-limiter's (worst row) | ≤ 1 | 0.75 | yes |",
        "| `MessageLimitGuard`, µs per message ÷ fastapi-limiter's (worst row) | ≤ 1 | 1.50 | **no** |",
        "| handshakes passed, 200 racing for 10, `RateLimitGuard` (furthest trial) | = 10 | 10.00 | yes |",
        "| handshakes passed, 200 racing for 10, fastapi-limiter (furthest trial) | (for comparison) | 11.00 |  |",
        "| messages passed, 200 racing for 10, `MessageLimitGuard` (furthest trial) | = 10 | 10.00 | yes |",
        "| messages passed, 200 racing for 10, fastapi-limiter (furthest trial) | (for comparison) | 12.00 |  |",
    ]


def test_a_race_trial_in_which_redis_failed_says_so() -> None:
    races = {"o  ours": {"what": "handshakes", "passes": [10, 36], "redis_failures": [0, 2]}}
    result = {**LIMITER, "meta": {**LIMITER["meta"], "race": {**LIMITER["meta"]["race"], "trials": 2}}}
    table = report.limiter_table({**result, "races": races})
    assert "| **o** ours | handshakes | 10, 36 (Redis failed) | **no** |" in table
