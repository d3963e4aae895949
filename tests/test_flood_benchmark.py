"""The flood benchmark's smoke run: every answer checked, the JSON in the shape the report generator reads."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.e2e  # the flood comes from wrk (Debian's wrk package, which .ci/run installs)


def test_flood_smoke(tmp_path: Path) -> None:
    out = tmp_path / "flood.json"
    command = [sys.executable, "benchmarks/flood.py", "--smoke", "--cases", "c", "d", "--json", str(out)]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=50)
    results = json.loads(out.read_text())
    assert set(results) == {"meta", "cases"}
    assert [label.split()[0] for label in results["cases"]] == ["c", "d"]
    for phases in results["cases"].values():
        assert set(phases["no_flood"]) == {"p50_ms", "p99_ms", "success_rate", "handshakes"}
        assert set(phases["flood"]) == {"p50_ms", "p99_ms", "success_rate", "handshakes", "refused_per_second"}
        assert phases["flood"]["success_rate"] == 1.0
        assert phases["flood"]["refused_per_second"] > 0
