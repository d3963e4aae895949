"""Handshakes per second and latency on the wire: each case served by uvicorn, loaded by wrk.

Each case's app (benchmarks/cases.py) runs in its own `uvicorn --ws websockets-sansio` (one worker) on a
loopback port, and `wrk -t1` opens handshakes on `--concurrency` connections for `--seconds`. Rounds go through
every case in turn; each case's figures are the medians over rounds. Every answer is checked: wrk's `response`
hook counts statuses (each denial must be 403, each accept 101), and one raw-socket handshake per server start
checks the whole answer (the 403's body, or the 101 and the close frame).
Run: python benchmarks/wire.py [--seconds 5] [--rounds 3] [--concurrency 32] [--json PATH] [--smoke]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Generator
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from benchmarks import _wrk, cases, report  # noqa: E402
from fastapi_ws_reject.testing import RunningServer, live_server  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "wire.json"
TICKS = os.sysconf("SC_CLK_TCK")
REQUEST = (
    "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Key: {_wrk.KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
).encode()
CLOSE_1000 = b"\x88\x02\x03\xe8"  # what accept_and_close sends after its 101
STATUS = {cases.DENIED: 403, cases.ACCEPTED: 101}


class WrongAnswer(Exception):
    pass


def wrk(port: int, seconds: int, concurrency: int, script: str) -> dict[str, Any]:
    command = [_wrk.WRK, "-t1", f"-c{concurrency}", f"-d{seconds}s", "-s", script, f"http://127.0.0.1:{port}/ws"]
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30)
    return _wrk.summary(output.returncode, output.stdout + output.stderr)


def handshake_once(port: int, ending: str) -> None:
    """One raw-socket handshake, its whole answer checked: a 403 and its body, or a 101 and a close 1000."""
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock, contextlib.suppress(TimeoutError):
        sock.sendall(REQUEST)
        while not answered(answer, ending) and (chunk := sock.recv(65536)):
            answer += chunk
    if not answered(answer, ending):
        raise WrongAnswer(f"expected a whole {STATUS[ending]} answer, got {answer!r}")


def answered(answer: bytes, ending: str) -> bool:
    head, _, rest = answer.partition(b"\r\n\r\n")
    if not head.startswith(f"HTTP/1.1 {STATUS[ending]} ".encode()):
        return False
    if ending == cases.ACCEPTED:
        return rest == CLOSE_1000
    lengths = [line.split(b":")[1] for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")]
    return len(rest) == int(lengths[0]) if lengths else False


def check(label: str, ending: str, result: dict[str, Any], concurrency: int) -> None:
    """Every answer had the expected status, and no socket failed but as wrk fails on a 101.

    wrk takes a 101 for a whole response: it counts it and its latency, then fails to parse the close frame
    after it as HTTP and reconnects, counting a read error. So each accepted handshake is one request and one
    read error (a connection's last 101 may lack its error, if the deadline falls before the close frame).
    """
    requests, errors = result["requests"], result["errors"]
    unexplained_reads = requests - errors["read"] if ending == cases.ACCEPTED else errors["read"]
    wrong: dict[str, Any] = {}
    if requests == 0 or result["statuses"] != {str(STATUS[ending]): requests}:
        wrong["statuses"] = result["statuses"]
    if errors["connect"] or errors["write"] or errors["timeout"] or not 0 <= unexplained_reads <= concurrency:
        wrong["errors"] = errors
    if wrong:
        raise WrongAnswer(f"{label}: {requests} requests, expected {STATUS[ending]} to each; got {wrong}")


@contextlib.contextmanager
def serve(name: str, ending: str, args: argparse.Namespace, script: str) -> Generator[RunningServer, None, None]:
    """A case's server, its answer checked and warmed up; its log deleted after."""
    app = f"benchmarks.cases:{name}"
    with live_server(app, "uvicorn", "websockets-sansio", cwd=ROOT, server_args=server_args(args)) as server:
        try:
            handshake_once(server.port, ending)
            if args.warm_up:
                wrk(server.port, args.warm_up, args.concurrency, script)
            yield server
            if "Traceback" in server.log():
                raise WrongAnswer(f"{name}: the server logged a traceback:\n{server.log()[-3000:]}")
        finally:
            if server.log_path is not None:
                server.log_path.unlink(missing_ok=True)


def server_args(args: argparse.Namespace) -> list[str]:
    """uvicorn's own lines per handshake (the access log, and websockets-sansio's error after every denial)
    cost every case the same, and hide the differences between cases: off unless `--uvicorn-logs`."""
    return [] if args.uvicorn_logs else _wrk.QUIET_UVICORN


def busy_seconds() -> float:
    """CPU time the whole machine has spent busy since boot, all CPUs together."""
    user, nice, system, _idle, _iowait, *rest = (int(field) for field in Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + sum(rest)) / TICKS


def cpu_seconds(pid: int) -> float:
    """CPU time process `pid` has used (fields counted after the command, which may hold spaces)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def children_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # children waited for: each wrk run, once it ends
    return usage.ru_utime + usage.ru_stime


def measure(label: str, server: RunningServer, ending: str, args: argparse.Namespace, script: str) -> dict[str, Any]:
    assert server.pid is not None
    busy, server_cpu, wrk_cpu = busy_seconds(), cpu_seconds(server.pid), children_seconds()
    result = wrk(server.port, args.seconds, args.concurrency, script)
    busy, server_cpu = busy_seconds() - busy, cpu_seconds(server.pid) - server_cpu
    wrk_cpu = children_seconds() - wrk_cpu
    check(label, ending, result, args.concurrency)
    seconds = result["duration_us"] / 1e6
    return {
        "handshakes_per_second": result["requests"] / seconds,
        "p50_ms": result["p50_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "handshakes": result["requests"],
        "seconds": seconds,
        "statuses": result["statuses"],
        "errors": result["errors"],
        # CPUs in use: the server (one is all it can use), wrk, and anything else, which takes from them both.
        "server_cpu": server_cpu / seconds,
        "wrk_cpu": wrk_cpu / seconds,
        "other_cpu": (busy - server_cpu - wrk_cpu) / seconds,
    }


def undisturbed(
    label: str, server: RunningServer, ending: str, args: argparse.Namespace, script: str
) -> dict[str, Any]:
    """A measurement, taken again (up to twice) while other processes use more than --max-other CPUs."""
    row, attempts = measure(label, server, ending, args, script), 1
    while row["other_cpu"] > args.max_other and attempts < 3:
        print(f"  {label}: other processes used {row['other_cpu']:.2f} CPUs; measuring again", file=sys.stderr)
        row, attempts = measure(label, server, ending, args, script), attempts + 1
    return {**row, "attempts": attempts}


def run(selected: dict[str, tuple[str, str]], args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    """One server per case for the whole run (steadier than one per round); each round takes the cases in turn."""
    rounds: dict[str, list[dict[str, Any]]] = {label: [] for label in selected}
    with _wrk.script_file() as script, contextlib.ExitStack() as stack:
        servers = {label: stack.enter_context(serve(*case, args, script)) for label, case in selected.items()}
        for number in range(1, args.rounds + 1):
            for label, server in servers.items():
                row = undisturbed(label, server, selected[label][1], args, script)
                rounds[label].append(row)
                print(
                    f"round {number} {label:<48} {row['handshakes_per_second']:>7.0f}/s  CPUs: server "
                    f"{row['server_cpu']:.2f}, wrk {row['wrk_cpu']:.2f}, other {row['other_cpu']:.2f}",
                    file=sys.stderr,
                )
    return rounds


def summarize(ending: str, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    fields = ("handshakes_per_second", "p50_ms", "p99_ms")
    return {
        "ending": ending,
        **{field: statistics.median(row[field] for row in rounds) for field in fields},
        "rounds": rounds,
    }


def meta(args: argparse.Namespace) -> dict[str, Any]:
    wrk_version = subprocess.run([_wrk.WRK, "--version"], capture_output=True, text=True).stdout.split()
    return {
        **report.machine(),
        **{package: version(package) for package in ("fastapi", "starlette")},
        "uvicorn_version": version("uvicorn"),
        "wrk": wrk_version[1] if len(wrk_version) > 1 else "unknown",
        "seconds": args.seconds,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "warm_up": args.warm_up,
        "max_other": args.max_other,
        "uvicorn": " ".join(["uvicorn --ws websockets-sansio", *server_args(args)]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=int, default=5, help="of each case in each round (wrk takes whole seconds)")
    parser.add_argument("--warm-up", type=int, default=1, help="seconds of load after each server start, not measured")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32, help="wrk's -c")
    parser.add_argument("--max-other", type=float, default=0.1, help="CPUs others may use before a case is re-run")
    parser.add_argument("--cases", nargs="+", metavar="KEY", help="only these cases (a b b2 ...)")
    parser.add_argument("--uvicorn-logs", action="store_true", help="uvicorn's default logging, access log included")
    parser.add_argument("--json", type=Path, help=f"where to write results (default {DEFAULT_JSON}; none for --smoke)")
    parser.add_argument("--smoke", action="store_true", help="cases a b c p q, 1 s, one round, no warm-up, for CI")
    args = parser.parse_args()
    if args.smoke:
        args.seconds, args.warm_up, args.rounds, args.cases = 1, 0, 1, ["a", "b", "c", "p", "q"]
    selected = {label: case for label, case in cases.CASES.items() if not args.cases or cases.key(label) in args.cases}
    started = time.monotonic()
    result = {"meta": meta(args), "cases": {}}
    rounds = run(selected, args)
    result["cases"] = {label: summarize(selected[label][1], rows) for label, rows in rounds.items()}
    print(report.wire_table(result))
    print(f"{time.monotonic() - started:.0f} s", file=sys.stderr)
    report.save(result, args.json or (None if args.smoke else DEFAULT_JSON))


if __name__ == "__main__":
    main()
