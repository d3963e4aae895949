"""Markdown tables from the benchmarks' JSON results, and the regions of docs/performance.md made from them.

A region is the text between `<!-- benchmarks/report.py: NAME -->` and `<!-- end -->`; `--publish` copies the
results into benchmarks/published/ (committed) and rewrites every region from them.
Run: python benchmarks/report.py [--from benchmarks/results] [--publish]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PUBLISHED = ROOT / "benchmarks" / "published"
DOC = ROOT / "docs" / "performance.md"
FILES = ("inprocess", "wire", "flood", "limiter")
REGION = re.compile(r"(<!-- benchmarks/report\.py: (?P<name>\w+) -->\n)(?P<body>.*?)(<!-- end -->)", re.S)

Result = Mapping[str, Any]

FLOOR = "a"
LIMITER_NAME = "fastapi-limiter"
# Each case's like-for-like FastAPI case: rows on an included router against FastAPI's included APIRouter
# (`b`), rows whose route sits on the app as built against FastAPI's route on the app (`b2`; `e` adds handlers
# to an app whose route is its own), RejectingRouter's accept path against FastAPI's. Including a router has a
# cost of its own in FastAPI, which a comparison across the two would count as the library's.
OWN = {
    **dict.fromkeys(("b", "g", "c", "h", "d"), "b"),
    **dict.fromkeys(("b2", "g2", "c2", "h2", "d2", "e"), "b2"),
    **{"p": "p", "q": "p", "p2": "p2", "q2": "p2"},
}
REJECTIONS = ("g", "c", "h", "d", "e", "g2", "c2", "h2", "d2")


def key(label: str) -> str:
    return label.split()[0]


def machine() -> dict[str, Any]:
    """The interpreter and machine a run measured, for its JSON's meta."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return {
        "python": platform.python_version(),
        "nproc": os.cpu_count(),
        "cpu": names[0] if names else platform.processor() or platform.machine(),
        "platform": platform.platform(),
    }


def compared(result: Result, field: str) -> dict[str, tuple[float, float | None, float | None]]:
    """Each case's `field`, ÷ the floor's (denials only) and ÷ its like-for-like FastAPI case's."""
    values = {key(label): row[field] for label, row in result["cases"].items()}
    rows: dict[str, tuple[float, float | None, float | None]] = {}
    for label, row in result["cases"].items():
        floor = values.get(FLOOR) if row["ending"] == "denied" else None
        own = values.get(OWN.get(key(label), ""))
        rows[label] = (row[field], row[field] / floor if floor else None, row[field] / own if own else None)
    return rows


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = [header, ["---", *["--:"] * (len(header) - 1)], *rows]
    return "\n".join(f"| {' | '.join(cells)} |" for cells in lines)


def case(label: str) -> str:
    return f"**{key(label)}** {label.split(maxsplit=1)[1]}"


SPREAD = "Spread: the fastest round's figure minus the slowest's, ÷ the median."


def spread(rounds: Sequence[float]) -> str:
    return f"{(max(rounds) - min(rounds)) / statistics.median(rounds):.0%}" if len(rounds) > 1 else ""


def ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def inprocess_table(result: Result) -> str:
    meta = result["meta"]
    memory = f"RSS growth, KiB per {meta['memory']:,} rejections" if meta.get("memory") else "RSS growth"
    rows: list[list[str]] = []
    for label, (value, floor, own) in compared(result, "median_us").items():
        row = result["cases"][label]
        growth = "" if row.get("rss_growth_kib") is None else f"{row['rss_growth_kib']:+d}"
        rows.append([case(label), f"{value:.1f}", spread(row.get("rounds_us", ())), ratio(floor), ratio(own), growth])
    header = ["case", "µs per handshake", "spread", "÷ floor", "÷ FastAPI's own", memory]
    note = (
        f"Each app called as ASGI, no server or network: median of {meta['rounds']} interleaved rounds of "
        f"{meta['iterations']:,} handshakes per case. {SPREAD}"
    )
    return f"{table(header, rows)}\n\n{note}\n"


def wire_table(result: Result) -> str:
    meta = result["meta"]
    rows: list[list[str]] = []
    for label, (value, floor, own) in compared(result, "handshakes_per_second").items():
        row = result["cases"][label]
        latency = f"{row['p50_ms']:.1f} / {row['p99_ms']:.1f}"
        rates = [measured["handshakes_per_second"] for measured in row.get("rounds", ())]
        rows.append([case(label), f"{value:,.0f}", spread(rates), latency, ratio(floor), ratio(own)])
    header = ["case", "handshakes/s", "spread", "p50 / p99 ms", "÷ floor", "÷ FastAPI's own"]
    note = (
        f"`{meta.get('uvicorn', 'uvicorn --ws websockets-sansio')}`, one worker, loaded by "
        f"`wrk -t1 -c{meta['concurrency']}` on the same "
        f"{meta['nproc']} CPUs: median of {meta['rounds']} interleaved rounds of {meta['seconds']:g} s per case. "
        f"{SPREAD}"
    )
    return f"{table(header, rows)}\n\n{note}{cpu_use(result)}\n"


def cpu_use(result: Result) -> str:
    """The CPUs the server, wrk and everything else used while measuring, over every round of every case."""
    rounds = [measured for row in result["cases"].values() for measured in row.get("rounds", ())]
    if not rounds:
        return ""

    def span(field: str) -> str:
        values = [max(0.0, measured[field]) for measured in rounds]
        return f"{min(values):.2f} to {max(values):.2f}"

    return f" CPUs in use: the server {span('server_cpu')}, wrk {span('wrk_cpu')}, the rest {span('other_cpu')}."


def flood_table(result: Result) -> str:
    meta = result["meta"]
    rows: list[list[str]] = []
    for label, row in result["cases"].items():
        quiet, flood = row["no_flood"], row["flood"]
        rows.append(
            [
                case(label),
                f"{quiet['p50_ms']:.1f} / {quiet['p99_ms']:.1f}",
                f"{flood['p50_ms']:.1f} / {flood['p99_ms']:.1f}",
                ratio(flood["p99_ms"] / quiet["p99_ms"]),
                f"{flood['success_rate']:.1%}",
                f"{flood['refused_per_second']:,.0f}",
            ]
        )
    header = ["case", "p50 / p99 ms, alone", "p50 / p99 ms, flooded", "p99 ×", "succeeded, flooded", "refused/s"]
    note = (
        f"{meta['rate']:g} legitimate handshakes/s for {meta['seconds']:g} s, alone and then under a flood from "
        f"`wrk -t1 -c{meta['flood_connections']}`."
    )
    return f"{table(header, rows)}\n\n{note}\n"


def _ratios(result: Result, field: str, keys: Sequence[str], which: int) -> list[float]:
    """The `which` ratio (1: ÷ the floor, 2: ÷ FastAPI's own) of the cases in `keys`."""
    chosen = [ratios[which] for label, ratios in compared(result, field).items() if key(label) in keys]
    return [value for value in chosen if value is not None]


def _worst(field: str, keys: Sequence[str], which: int, lowest: bool) -> Callable[[Result], float | None]:
    def worst(result: Result) -> float | None:
        values = _ratios(result, field, keys, which)
        return (min if lowest else max)(values) if values else None

    return worst


def _furthest_from_one(keys: Sequence[str]) -> Callable[[Result], float | None]:
    def furthest(result: Result) -> float | None:
        values = _ratios(result, "median_us", keys, 2)
        return max(values, key=lambda value: abs(value - 1)) if values else None

    return furthest


def _flooded_p99(flood_key: str) -> Callable[[Result], float | None]:
    def factor(result: Result) -> float | None:
        rows = [row for label, row in result["cases"].items() if key(label) == flood_key]
        return rows[0]["flood"]["p99_ms"] / rows[0]["no_flood"]["p99_ms"] if rows else None

    return factor


def _rss_per_100k(result: Result) -> float | None:
    rejections = result["meta"].get("memory")
    growths = [row["rss_growth_kib"] for row in result["cases"].values() if "rss_growth_kib" in row]
    return max(growths) * 100_000 / rejections if growths and rejections else None


RATE, TIME = "handshakes_per_second", "median_us"
CONNECTION_CHECKS = ("c", "c2", "d", "d2")
PARAMETER_CHECKS = ("h", "h2")
OWN_ROWS = ("b", "b2")


def _against_theirs(section: str, field: str, keys: Sequence[str], lowest: bool) -> Callable[[Result], float | None]:
    """The worst of ours ÷ fastapi-limiter's like-for-like row (limiter.py), among the rows in `keys`."""

    def worst(result: Result) -> float | None:
        values = {key(label): row[field] for label, row in result.get(section, {}).items()}
        ratios = [values[mine] / values[THEIRS[mine]] for mine in keys if mine in values and values.get(THEIRS[mine])]
        return (min if lowest else max)(ratios) if ratios else None

    return worst


def _race_furthest(race_key: str) -> Callable[[Result], float | None]:
    """The passes of the trial furthest from the limit, in the race `race_key` (limiter.py)."""

    def furthest(result: Result) -> float | None:
        rows = [row for label, row in result.get("races", {}).items() if key(label) == race_key]
        if not rows:
            return None
        limit = result["meta"]["race"]["limit"][0]
        return float(max(rows[0]["passes"], key=lambda passes: abs(passes - limit)))

    return furthest


class Target(NamedTuple):
    what: str
    source: str
    measure: Callable[[Result], float | None]
    low: float | None  # at least this (None: no lower bound)
    high: float | None  # at most this

    def limit(self) -> str:
        if self.low is None and self.high is None:
            return "(for comparison)"
        if self.low is not None and self.low == self.high:
            return f"= {self.low:g}"
        if self.low is not None and self.high is not None:
            return f"{self.low:g} to {self.high:g}"
        return f"≥ {self.low:g}" if self.low is not None else f"≤ {self.high:g}"

    def met(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


# What the code is held to (issue 15, and the RSS bound of issue 6). On the wire a ratio is of handshakes/s, so
# higher is better; in-process it is of µs, so lower is.
TARGETS: list[Target] = [
    Target("a `Guard` on a route served as built ÷ the floor, wire", "wire", _worst(RATE, ("g2",), 1, True), 0.9, None),
    Target("a `Guard` on an included route ÷ the floor, wire", "wire", _worst(RATE, ("g",), 1, True), 0.9, None),
    Target("a route on FastAPI denying at once ÷ the floor, wire", "wire", _worst(RATE, ("a2",), 1, True), None, None),
    Target(
        "FastAPI's own `HTTPException` ÷ the floor, wire (best row)",
        "wire",
        _worst(RATE, OWN_ROWS, 1, False),
        None,
        None,
    ),
    Target(
        "`ws_guard` / `@reject_unless`, check taking the connection, ÷ the floor, wire (worst row)",
        "wire",
        _worst(RATE, CONNECTION_CHECKS, 1, True),
        0.8,
        None,
    ),
    Target(
        "`ws_guard`, check with FastAPI parameters, ÷ the floor, wire (worst row)",
        "wire",
        _worst(RATE, PARAMETER_CHECKS, 1, True),
        0.8,
        None,
    ),
    Target("`WebSocketGuardMiddleware` ÷ the floor, wire", "wire", _worst(RATE, ("f",), 1, True), 0.97, None),
    Target(
        "`WebSocketGuardMiddleware` µs ÷ the floor's, in-process", "inprocess", _worst(TIME, ("f",), 1, False), None, 2
    ),
    Target(
        "a `Guard`'s µs ÷ FastAPI's own, in-process (worst row)",
        "inprocess",
        _worst(TIME, ("g", "g2"), 2, False),
        None,
        1.05,
    ),
    Target(
        "`ws_guard` / `@reject_unless`, check taking the connection, µs ÷ FastAPI's own, in-process (worst row)",
        "inprocess",
        _worst(TIME, CONNECTION_CHECKS, 2, False),
        None,
        1.05,
    ),
    Target(
        "`ws_guard`, check with FastAPI parameters, µs ÷ FastAPI's own, in-process (worst row)",
        "inprocess",
        _worst(TIME, PARAMETER_CHECKS, 2, False),
        None,
        1.05,
    ),
    Target(
        "an accept on a `RejectingRouter` ÷ FastAPI's, in-process (furthest row)",
        "inprocess",
        _furthest_from_one(("q", "q2")),
        0.97,
        1.03,
    ),
    Target("legitimate p99 flooded ÷ alone, middleware (`c`)", "flood", _flooded_p99("c"), None, 3),
    Target("legitimate p99 flooded ÷ alone, raw ASGI app (`r`)", "flood", _flooded_p99("r"), None, None),
    Target("RSS growth per 100,000 rejections, KiB (worst case)", "inprocess", _rss_per_100k, None, 2048),
    # Issue 23: against fastapi-limiter on the same Redis, at least as fast, and exact.
    Target(
        f"`RateLimitGuard` on Redis, refusals/s in flight ÷ {LIMITER_NAME}'s (worst row)",
        "limiter",
        _against_theirs("handshakes", "in_flight_per_second", ("o", "o1", "om"), True),
        1,
        None,
    ),
    Target(
        f"`RateLimitGuard` on Redis, µs per refusal in turn ÷ {LIMITER_NAME}'s (worst row)",
        "limiter",
        _against_theirs("handshakes", "median_us", ("o", "o1", "om"), False),
        None,
        1,
    ),
    Target(
        f"`MessageLimitGuard`, µs per message ÷ {LIMITER_NAME}'s (worst row)",
        "limiter",
        _against_theirs("messages", "median_us", ("mo", "mm"), False),
        None,
        1,
    ),
    Target(
        "handshakes passed, 200 racing for 10, `RateLimitGuard` (furthest trial)",
        "limiter",
        _race_furthest("o"),
        10,
        10,
    ),
    Target(
        f"handshakes passed, 200 racing for 10, {LIMITER_NAME} (furthest trial)",
        "limiter",
        _race_furthest("t"),
        None,
        None,
    ),
    Target(
        "messages passed, 200 racing for 10, `MessageLimitGuard` (furthest trial)",
        "limiter",
        _race_furthest("mo"),
        10,
        10,
    ),
    Target(
        f"messages passed, 200 racing for 10, {LIMITER_NAME} (furthest trial)",
        "limiter",
        _race_furthest("mt"),
        None,
        None,
    ),
]


def targets_table(results: Mapping[str, Result]) -> str:
    rows: list[list[str]] = []
    for target in TARGETS:
        value = target.measure(results[target.source]) if target.source in results else None
        if value is not None:
            verdict = "" if target.low is None and target.high is None else "yes" if target.met(value) else "**no**"
            rows.append([target.what, target.limit(), f"{value:.2f}", verdict])
    return table(["target", "limit", "measured", "met"], rows) + "\n"


def machine_line(results: Mapping[str, Result]) -> str:
    """The machine and versions, from every result's meta; a field the results disagree on lists each value."""
    fields = {"cpu": "", "nproc": " CPUs", "platform": "", "python": "Python ", "fastapi": "FastAPI "}
    fields |= {"starlette": "Starlette ", "uvicorn_version": "uvicorn ", "wrk": "wrk "}
    parts: list[str] = []
    for field, label in fields.items():
        values = list(dict.fromkeys(str(r["meta"][field]) for r in results.values() if field in r["meta"]))
        if values:
            value = " / ".join(values)
            parts.append(f"{value}{label}" if label == " CPUs" else f"{label}{value}")
    return f"Measured on {', '.join(parts)}.\n"


# limiter.py's rows: each of ours by the fastapi-limiter row it is like for like with (a dependency on a route the
# app serves as built, or on an included router), and its references: the floor and FastAPI with no limit.
LIMITER_FLOOR, LIMITER_PLAIN = "r", "p"
THEIRS = {"o": "t", "om": "t", "o1": "t1", "mo": "mt", "mm": "mtm"}


def _limiter_ratio(values: Mapping[str, float], label: str, other: str | None) -> str:
    mine, theirs = values.get(key(label)), values.get(other or "")
    if mine is None or not theirs:
        return ""
    return f"{mine / theirs:.3f}" if mine / theirs < 0.1 else ratio(mine / theirs)  # a Redis call next to none


def limiter_table(result: Result) -> str:
    """limiter.py's three tables: refused handshakes, µs per limited message, and the passes in the races."""
    meta = result["meta"]
    parts: list[str] = []
    handshakes = result.get("handshakes", {})
    if handshakes:
        rates = {key(label): row["in_flight_per_second"] for label, row in handshakes.items()}
        rows = []
        for label, row in handshakes.items():
            rows.append(
                [
                    case(label),
                    f"{row['median_us']:.1f}",
                    spread(row.get("rounds_us", ())),
                    f"{row['in_flight_per_second']:,.0f}",
                    spread(row.get("in_flight_rounds", ())),
                    _limiter_ratio(rates, label, LIMITER_FLOOR) if row["ending"] == "refused" else "",
                    _limiter_ratio(rates, label, LIMITER_PLAIN),
                    _limiter_ratio(rates, label, THEIRS.get(key(label))),
                ]
            )
        header = [
            "case",
            "µs per handshake, one at a time",
            "spread",
            f"handshakes/s, {meta['concurrency']} in flight",
            "spread",
            "÷ floor",
            "÷ FastAPI, no limit",
            f"÷ {LIMITER_NAME}",
        ]
        limit, per = meta["handshake_limit"]
        note = (
            f"A limit of {limit} handshake per {per:g} s per client, driven past it: every row but **p** refuses with "
            f"429. Median of {meta['rounds']} interleaved rounds of {meta['handshakes']:,} handshakes per case, one "
            f"at a time and then {meta['concurrency']} at once. The ratios divide handshakes/s in flight. {SPREAD}"
        )
        parts.append(f"{table(header, rows)}\n\n{note}\n")
    messages = result.get("messages", {})
    if messages:
        times = {key(label): row["median_us"] for label, row in messages.items()}
        plain = times.get("mp")
        rows = [
            [
                case(label),
                f"{row['median_us']:.1f}",
                spread(row.get("rounds_us", ())),
                "" if plain is None or key(label) == "mp" else f"{row['median_us'] - plain:+.1f}",
                _limiter_ratio(times, label, THEIRS.get(key(label))),
            ]
            for label, row in messages.items()
        ]
        header = ["case", "µs per message", "spread", "µs more than no limit", f"÷ {LIMITER_NAME}"]
        limit, per = meta["message_limit"]
        note = (
            f"{meta['messages']:,} text messages on one socket after accept, under a limit of {limit:,} per "
            f"{per:g} s that none reaches: median of {meta['rounds']} interleaved rounds. {SPREAD}"
        )
        parts.append(f"{table(header, rows)}\n\n{note}\n")
    races = result.get("races", {})
    if races:
        race = meta["race"]
        limit = race["limit"][0]
        rows = []
        for label, row in races.items():
            failures = row.get("redis_failures", [0] * len(row["passes"]))
            pairs = zip(row["passes"], failures, strict=True)
            trials = [f"{passes} (Redis failed)" if failed else str(passes) for passes, failed in pairs]
            exact = all(passes == limit for passes in row["passes"])
            rows.append([case(label), row["what"], ", ".join(trials), "yes" if exact else "**no**"])
        header = ["case", "racing", "passed, each trial", f"exactly {limit}"]
        note = (
            f"{race['clients']} clients, {race['clients'] // race['processes']} tasks in each of {race['processes']} "
            f"processes, start at one instant and race for a limit of {limit} per {race['limit'][1]:g} s on one key "
            f"in one Redis; {race['trials']} trials."
        )
        if race.get("timeout"):
            note += (
                f" Our `RedisBackend` waits up to {race['timeout']:g} s for Redis here, in every table: its default, "
                "0.5 s, after which a limit fails open and lets the decision through, was exceeded while the racers' "
                f"calls queued on a loaded machine. {LIMITER_NAME} waits as long as Redis takes. A trial in which a "
                "call still failed says so."
            )
        parts.append(f"{table(header, rows)}\n\n{note}\n")
    versions = (
        f"{LIMITER_NAME} {meta['fastapi_limiter']} on pyrate-limiter {meta['pyrate_limiter']}, redis-py "
        f"{meta['redis_py']}, redis-server {meta['redis_server']} on loopback; each app called as ASGI in process."
    )
    return "\n".join(parts) + f"\n{versions}\n"


RENDERERS: dict[str, Callable[[Result], str]] = {
    "inprocess": inprocess_table,
    "wire": wire_table,
    "flood": flood_table,
    "limiter": limiter_table,
}


# benchmarks/telemetry.py (issue 25): what the library's OpenTelemetry recording adds to a refusal.
TELEMETRY_PROVIDERS = {"none": "none", "sdk": "SDK, via FastAPI(telemetry=)"}


def telemetry_table(result: Result) -> str:
    meta = result["meta"]
    rows: list[list[str]] = []
    for label, row in result["cases"].items():
        name = case(label.rsplit(" [", 1)[0])
        rows.append(
            [
                name,
                TELEMETRY_PROVIDERS.get(row["provider"], row["provider"]),
                f"{row['off_us']:.1f}",
                f"{row['on_us']:.1f}",
                f"{row['added_us']:+.2f}",
                f"{row['added_us'] / row['off_us']:+.1%}",
                spread(row.get("rounds_off_us", ())),
            ]
        )
    header = ["case", "provider", "µs without", "µs with", "added µs", "added ÷ without", "spread without"]
    note = (
        f"Each app called as ASGI, no server or network, timed in CPU time of the calling thread: median of "
        f"{meta['rounds']} interleaved rounds of "
        f"{meta['iterations']:,} refusals per case, with the library's recording and without it (`added µs`: the "
        f"median of the rounds' differences); opentelemetry-sdk {meta.get('opentelemetry_sdk', '')}. {SPREAD}"
    )
    return f"{table(header, rows)}\n\n{note}\n"


FILES += ("telemetry",)
RENDERERS["telemetry"] = telemetry_table


def render(results: Mapping[str, Result]) -> dict[str, str]:
    """Every region's text; a table whose results are missing says how to make them."""
    regions = {"machine": machine_line(results), "targets": targets_table(results)}
    for name, renderer in RENDERERS.items():
        missing = (
            f"Not measured yet: run `python benchmarks/{name}.py`, then `python benchmarks/report.py --publish`.\n"
        )
        regions[name] = renderer(results[name]) if name in results else missing
    return regions


def save(result: Result, path: Path | None) -> None:
    """Write a benchmark's `result` where `load` reads it (`path` None: a smoke run, which keeps nothing)."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


def load(directory: Path) -> dict[str, Result]:
    paths = {name: directory / f"{name}.json" for name in FILES}
    return {name: json.loads(path.read_text()) for name, path in paths.items() if path.exists()}


def rewrite(text: str, regions: Mapping[str, str]) -> str:
    """`text` with each region's body replaced; a region with no rendering is an error."""
    unknown = [match["name"] for match in REGION.finditer(text) if match["name"] not in regions]
    if unknown:
        raise SystemExit(f"no rendering for the regions {unknown}; known: {sorted(regions)}")
    return REGION.sub(lambda match: f"{match[1]}{regions[match['name']]}{match[4]}", text)


def publish(source: Path) -> None:
    PUBLISHED.mkdir(exist_ok=True)
    for name in FILES:
        if (source / f"{name}.json").exists() and source.resolve() != PUBLISHED:
            shutil.copyfile(source / f"{name}.json", PUBLISHED / f"{name}.json")
            print(f"published {name}.json")
    DOC.write_text(rewrite(DOC.read_text(), render(load(PUBLISHED))))
    print(f"rewrote {DOC.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--from", dest="source", type=Path, default=RESULTS, help="where the JSON results are")
    parser.add_argument("--publish", action="store_true", help=f"copy them to {PUBLISHED.name}/ and rewrite {DOC.name}")
    args = parser.parse_args()
    if args.publish:
        publish(args.source)
        return
    for name, text in render(load(args.source)).items():
        print(f"{name}:\n{text}")


if __name__ == "__main__":
    main()
