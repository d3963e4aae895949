"""What the wire and flood benchmarks share: wrk with its script, and uvicorn run quietly."""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

WRK = shutil.which("wrk") or "/usr/bin/wrk"
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
# uvicorn's own lines per handshake (the access log, and websockets-sansio's error after every denial) cost
# every case the same and hide the differences between cases.
QUIET_UVICORN = ["--no-access-log", "--log-level", "critical"]
# `response` counts statuses in wrk's thread; done() sums the threads' counts and prints one JSON line.
SCRIPT = f"""
wrk.headers["Upgrade"] = "websocket"
wrk.headers["Connection"] = "Upgrade"
wrk.headers["Sec-WebSocket-Key"] = "{KEY}"
wrk.headers["Sec-WebSocket-Version"] = "13"
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {{}} end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  local counts, parts = {{}}, {{}}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do counts[status] = (counts[status] or 0) + n end
  end
  for status, n in pairs(counts) do table.insert(parts, string.format('"%d": %d', status, n)) end
  local e = summary.errors
  io.write(string.format(
    'WRK {{"requests": %d, "duration_us": %d, "statuses": {{%s}}, "errors": ' ..
    '{{"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}}, "p50_us": %d, "p99_us": %d}}\\n',
    summary.requests, summary.duration, table.concat(parts, ", "), e.connect, e.read, e.write, e.timeout,
    e.status, latency:percentile(50), latency:percentile(99)))
end
"""


@contextlib.contextmanager
def script_file() -> Iterator[str]:
    """`SCRIPT` in a file, for wrk's `-s`."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(SCRIPT)
        script.flush()
        yield script.name


def summary(returncode: int | None, stdout: str) -> dict[str, Any]:
    """The JSON line `SCRIPT`'s done() printed: requests, duration_us, statuses, errors, p50_us, p99_us."""
    line = next((line for line in stdout.splitlines() if line.startswith("WRK ")), None)
    if returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({returncode}):\n{stdout}")
    result: dict[str, Any] = json.loads(line.removeprefix("WRK "))
    return result
