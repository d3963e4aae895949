"""Run FastAPI's own websocket tests three ways and check that the library changes only what it documents.

    python tests_fastapi_suite/run.py      # with the python of a venv holding FastAPI, this project and pytest

It downloads the sdist of the installed FastAPI (it holds `tests/`), picks the test modules that mention
websockets, and runs them: plain (the baseline), with `RejectingRouter` for every `APIRouter`, and with
`add_rejection_handlers` on every app (see `ws_reject_switch.py`). A test that passes plain and fails
switched on must be listed in `differences.txt` with the README conversion that explains it. Exit status 1
on a difference that is not listed or a listed one that no longer happens, 2 when the run itself failed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODES = ("router", "handlers")

# The README's "Conversions" table, row by row: the only reasons a FastAPI test may fail switched on.
CONVERSIONS = {
    "validation-422": "a request validation error before accept is a 422 denial with the errors, not a close 1008",
    "websocket-exception-denial": "a WebSocketException before accept is a denial (code - 4000 for 4300-4599, "
    "else 403) with the reason as body, not a close",
    "http-exception-denial": "an HTTPException before accept is a denial with its status, headers and "
    '{"detail": ...}, not a 500 (or a close 1008 on newer FastAPI)',
    "http-exception-after-accept": "an HTTPException after accept is a close 4000 + status with the detail",
    "unsendable-status-500": "an HTTPException whose status cannot refuse (outside 300-599) is a 500 denial",
    "answered-dependencies": "a RejectingRouter route's dependencies=[Depends(f)] are Depends(AnsweredDependency) "
    "wrappers named like f (depends.dependency.depends is the user's Depends), solved before f so the route answers "
    "what f raises (docs/limits-and-choices.md)",
}

# Modules that mention websockets but cannot see the switch.
LEFT_OUT = {
    "tests/test_telemetry/test_integrations.py": "each test runs in a fresh interpreter (logfire, sentry-sdk)",
    "tests/test_telemetry/test_native_integrations.py": "each test runs in a fresh interpreter (logfire, sentry-sdk)",
}


@dataclass(frozen=True)
class Documented:
    mode: str
    test_id: str
    conversion: str
    line: int


def read_documented(path: Path) -> list[Documented]:
    documented = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        fields = text.split(maxsplit=3)
        if len(fields) < 4 or fields[0] not in (*MODES, "both") or fields[2] not in CONVERSIONS:
            sys.exit(
                f"{path.name}:{number}: expected `MODE TEST-ID CONVERSION why`, MODE one of router, handlers, "
                f"both and CONVERSION one of {', '.join(CONVERSIONS)}; got {text!r}"
            )
        modes = MODES if fields[0] == "both" else (fields[0],)
        documented += [Documented(mode, fields[1], fields[2], number) for mode in modes]
    return documented


def fetch_tests(fastapi_version: str, workdir: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps"]
    command += ["--no-binary", ":all:", f"fastapi=={fastapi_version}", "--dest", str(workdir)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        sys.exit(f"could not download the sdist of FastAPI {fastapi_version} (it holds FastAPI's tests)")
    (archive,) = workdir.glob("fastapi-*.tar.gz")
    with tarfile.open(archive) as sdist:
        if hasattr(tarfile, "data_filter"):
            sdist.extractall(workdir, filter="data")
        else:  # a Python without PEP 706 extraction filters
            sdist.extractall(workdir)
    root = workdir / f"fastapi-{fastapi_version}"
    # Its tests run from the sdist's root, which would put the sdist's copy of fastapi first on sys.path.
    shutil.rmtree(root / "fastapi")
    return root


def websocket_modules(root: Path) -> list[str]:
    found = []
    for path in sorted((root / "tests").rglob("test_*.py")):
        name = path.relative_to(root).as_posix()
        if "websocket" in path.read_text(encoding="utf-8").lower() and name not in LEFT_OUT:
            found.append(name)
    return found


def run_pytest(root: Path, modules: list[str], mode: str, workdir: Path) -> dict[str, dict[str, str]]:
    results, log = workdir / f"{mode}.json", workdir / f"{mode}.log"
    env = {
        **os.environ,
        "FASTAPI_WS_REJECT_SUITE_MODE": mode,
        "FASTAPI_WS_REJECT_SUITE_RESULTS": str(results),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, "-m", "pytest", "-p", "ws_reject_switch", "-p", "no:cacheprovider", "-q", *modules]
    with log.open("w") as output:
        done = subprocess.run(command, cwd=root, env=env, stdout=output, stderr=subprocess.STDOUT)
    if done.returncode not in (0, 1) or not results.exists():
        sys.stderr.write(log.read_text()[-5000:])
        sys.exit(f"pytest ({mode}) stopped with status {done.returncode}; the log is {log}")
    outcomes: dict[str, dict[str, str]] = json.loads(results.read_text())["results"]
    return outcomes


def counts(results: dict[str, dict[str, str]]) -> str:
    tally: dict[str, int] = {}
    for result in results.values():
        tally[result["outcome"]] = tally.get(result["outcome"], 0) + 1
    return ", ".join(f"{number} {outcome}" for outcome, number in sorted(tally.items()))


def tail(text: str, lines: int = 30) -> str:
    return "\n".join("        " + line for line in text.rstrip().splitlines()[-lines:])


def compare(
    mode: str, plain: dict[str, dict[str, str]], switched: dict[str, dict[str, str]], documented: list[Documented]
) -> list[str]:
    """Print how `mode` differs from plain; return the problems (undocumented or stale differences)."""
    problems = []
    expected = {d.test_id: d for d in documented if d.mode == mode}
    compared = {test_id for test_id, result in plain.items() if result["outcome"] != "failed"}
    missing = {"outcome": "missing", "summary": "not collected switched on"}
    changed = {
        test_id: switched.get(test_id, missing)
        for test_id in compared
        if switched.get(test_id, missing)["outcome"] != plain[test_id]["outcome"]
    }
    undocumented = sorted(set(changed) - set(expected))
    print(
        f"  {mode:<9} {counts(switched)}: {len(changed)} differ from plain, "
        f"{len(changed) - len(undocumented)} documented, {len(undocumented)} undocumented"
    )
    for test_id in sorted(set(changed) & set(expected)):
        print(f"    documented: {test_id} ({expected[test_id].conversion})")
    for test_id in undocumented:
        result = changed[test_id]
        problems.append(f"{mode}: undocumented difference: {test_id}")
        print(f"    UNDOCUMENTED: {test_id}: {plain[test_id]['outcome']} plain, {result['outcome']} {mode}")
        print(f"      {result.get('summary', '')}")
        if result.get("details"):
            print(tail(result["details"]))
    for test_id in sorted((set(expected) & compared) - set(changed)):
        problems.append(f"{mode}: documented difference no longer happens: {test_id}")
        print(f"    NO LONGER DIFFERS: {test_id} (differences.txt line {expected[test_id].line}): remove the line")
    for test_id in sorted(set(switched) - set(plain)):
        problems.append(f"{mode}: a test only switched on: {test_id}")
        print(f"    ONLY SWITCHED ON: {test_id}: {switched[test_id].get('summary', '')}")
    return problems


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    fastapi_version, starlette_version = version("fastapi"), version("starlette")
    documented = read_documented(HERE / "differences.txt")
    problems: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="fastapi-suite-"))  # kept, with the logs, when something fails
    root = fetch_tests(fastapi_version, workdir)
    modules = websocket_modules(root)
    print(f"FastAPI {fastapi_version} (Starlette {starlette_version}): {len(modules)} test modules mention websockets")
    for name, why in LEFT_OUT.items():
        if (root / name).exists():
            print(f"  left out {name}: {why}")
    started = time.monotonic()
    plain = run_pytest(root, modules, "plain", workdir)
    print(f"  plain     {counts(plain)}")
    broken = sorted(test_id for test_id, result in plain.items() if result["outcome"] == "failed")
    for test_id in broken:
        print(f"    fails plain already, not compared: {test_id}: {plain[test_id].get('summary', '')}")
    for mode in MODES:
        problems += compare(mode, plain, run_pytest(root, modules, mode, workdir), documented)
    seconds = time.monotonic() - started
    if problems:
        print(f"pytest logs and results: {workdir}")
        print(f"FAILED on FastAPI {fastapi_version} ({seconds:.0f} s): {len(problems)} problems")
        for problem in problems:
            print(f"  {problem}")
        return 1
    shutil.rmtree(workdir)
    print(f"OK on FastAPI {fastapi_version} ({seconds:.0f} s): only the documented conversions differ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
