"""Start the deployment docs/deployment.md describes, on loopback addresses, and keep it up until Ctrl-C.

```bash
python -m examples.deploy.run --proxy nginx        # or haproxy; --setting guard: the guards read the headers
```

A redis-server, two app hosts (uvicorn, `--workers 2` each, `--root-path /api`) and nginx or HAProxy in front,
terminating TLS with a certificate made here by the `openssl` command. Each role has its own address:
the proxy 127.0.0.2, the hosts 127.0.0.11 and 127.0.0.12 (Linux routes all of 127/8 to the loopback).
tests/deploy/ starts the very same thing through `deployment()`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
PROXIES = ("nginx", "haproxy")
# Who rewrites scope["client"] from the proxy's X-Forwarded-For: the server, or the guards and keys themselves.
SETTINGS = ("server", "guard")
PROXY_ADDRESS = "127.0.0.2"
HOST_ADDRESSES = ("127.0.0.11", "127.0.0.12")
PREFIX = "/api"
WORKERS = 2
_SBIN = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


@dataclass(frozen=True)
class Certificate:
    certificate: Path
    private_key: Path
    both: Path  # the certificate then the key, in one file, as HAProxy reads them


@dataclass(frozen=True)
class Host:
    process: subprocess.Popen[bytes]
    address: str
    port: int
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass(frozen=True)
class Deployment:
    proxy: str
    setting: str
    process: subprocess.Popen[bytes]  # the proxy's
    url: str  # wss://127.0.0.2:PORT/api
    origin: str  # the origin of the pages this deployment serves: https://127.0.0.2:PORT
    hosts: tuple[Host, ...]
    certificate: Certificate


def tool(name: str) -> str | None:
    """Where the `name` command is (Debian puts nginx and haproxy in /usr/sbin), or None."""
    return shutil.which(name, path=_SBIN)


def free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


def make_certificate(directory: Path, address: str) -> Certificate:
    """A self-signed certificate for `address` (an IP SAN, as browsers and Python's ssl check), valid one day."""
    certificate, private_key, both = directory / "proxy.crt", directory / "proxy.key", directory / "proxy.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        + ["-days", "1", "-subj", f"/CN={address}", "-addext", f"subjectAltName=IP:{address}"]
        + ["-keyout", str(private_key), "-out", str(certificate)],
        check=True,
        capture_output=True,
    )
    both.write_bytes(certificate.read_bytes() + private_key.read_bytes())
    return Certificate(certificate, private_key, both)


def fill(template: str, values: Mapping[str, str]) -> str:
    """`template` with each `${NAME}` replaced (nginx's own `$variables` are left alone, as `envsubst` with a
    list of names does)."""
    return re.sub(r"\$\{([A-Z_]+)\}", lambda match: values[match[1]], template)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait(check: Iterator[bool] | None, process: subprocess.Popen[bytes], what: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        if check is not None and next(check):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} was not ready within {timeout} s:\n{log.read_text(errors='replace')[-3000:]}")


def _listening(address: str, port: int) -> Iterator[bool]:
    while True:
        try:
            with socket.create_connection((address, port), timeout=0.2):
                yield True
        except OSError:
            yield False


def _started(log: Path, workers: int) -> Iterator[bool]:
    while True:
        text = log.read_text(errors="replace")
        if "Traceback" in text:  # uvicorn would start the failing worker again and again
            raise RuntimeError(f"a worker failed to start:\n{text[-3000:]}")
        yield text.count("Application startup complete.") >= workers


def server_flags(setting: str, proxy: str = PROXY_ADDRESS) -> list[str]:
    """uvicorn's flags on each host behind `proxy`: two workers, the prefix the proxy strips, and who reads the
    proxy's headers (docs/deployment.md shows these)."""
    if setting not in SETTINGS:
        raise ValueError(f"setting must be one of {SETTINGS}, got {setting!r}")
    trust = [f"--proxy-headers --forwarded-allow-ips={proxy}"] if setting == "server" else ["--no-proxy-headers"]
    return [*f"--workers {WORKERS} --root-path {PREFIX}".split(), *" ".join(trust).split()]


@contextlib.contextmanager
def host(
    address: str, setting: str, environment: Mapping[str, str], directory: Path, *, proxy: str = PROXY_ADDRESS
) -> Iterator[Host]:
    """One app host: `uvicorn --workers 2 --root-path /api` on `address`, trusting the proxy's headers
    (`setting="server"`) or leaving them to the guards (`"guard"`); stopped with SIGTERM."""
    port = free_port(address)
    command = [sys.executable, "-m", "uvicorn", "examples.deploy.app:app", "--host", address, "--port", str(port)]
    command += server_flags(setting, proxy)
    log_path = directory / f"host-{address}-{port}.log"
    python_path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, **environment, "PYTHONPATH": python_path, "PYTHONUNBUFFERED": "1"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        _wait(_started(log_path, WORKERS), process, f"the host on {address}:{port}", log_path, 30)
        yield Host(process, address, port, log_path)
    finally:
        stop(process)


@contextlib.contextmanager
def proxy(
    kind: str, hosts: tuple[Host, ...], certificate: Certificate, directory: Path
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """nginx or HAProxy on 127.0.0.2 and a free port, configured by the files next to this one; yields the port
    and the process."""
    port = free_port(PROXY_ADDRESS)
    values = {
        "RUN_DIR": str(directory),
        "PROXY_ADDRESS": PROXY_ADDRESS,
        "PROXY_PORT": str(port),
        "HOST_A": f"{hosts[0].address}:{hosts[0].port}",
        "HOST_B": f"{hosts[1].address}:{hosts[1].port}",
        "CERTIFICATE": str(certificate.certificate),
        "PRIVATE_KEY": str(certificate.private_key),
        "CERTIFICATE_AND_KEY": str(certificate.both),
    }
    log_path = directory / f"{kind}.log"
    if kind == "nginx":
        config = directory / "nginx.conf"
        config.write_text(fill((HERE / "nginx.conf").read_text(), values))
        command = [tool("nginx") or "nginx", "-p", str(directory), "-c", str(config), "-g", "daemon off;"]
        env = dict(os.environ)
    elif kind == "haproxy":
        command = [tool("haproxy") or "haproxy", "-db", "-f", str(HERE / "haproxy.cfg")]
        env = {**os.environ, **values}
    else:
        raise ValueError(f"proxy must be one of {PROXIES}, got {kind!r}")
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=directory, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        _wait(_listening(PROXY_ADDRESS, port), process, kind, log_path, 15)
        yield port, process
    finally:
        stop(process)


@contextlib.contextmanager
def deployment(
    kind: str, setting: str, redis_url: str, directory: Path, **app_environment: str
) -> Iterator[Deployment]:
    """The whole setup but Redis: a certificate, two hosts and the proxy in front, all stopped at the end.
    `app_environment` sets examples/deploy/app.py's variables (`DEPLOY_ALLOW="127.0.0.101"`)."""
    certificate = make_certificate(directory, PROXY_ADDRESS)
    environment = {"DEPLOY_REDIS_URL": redis_url, "DEPLOY_PROXIES": PROXY_ADDRESS, **app_environment}
    with contextlib.ExitStack() as stack:
        hosts = tuple(stack.enter_context(host(a, setting, environment, directory)) for a in HOST_ADDRESSES)
        port, process = stack.enter_context(proxy(kind, hosts, certificate, directory))
        origin = f"https://{PROXY_ADDRESS}:{port}"
        url = f"wss://{PROXY_ADDRESS}:{port}{PREFIX}"
        yield Deployment(kind, setting, process, url, origin, hosts, certificate)


@contextlib.contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    """A redis-server on a free loopback port, saving nothing; yields its URL."""
    port = free_port("127.0.0.1")
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    log_path = directory / "redis.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=directory, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait(_listening("127.0.0.1", port), process, "redis-server", log_path, 10)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(process)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--proxy", choices=PROXIES, default="nginx")
    parser.add_argument("--setting", choices=SETTINGS, default="server")
    arguments = parser.parse_args(argv)
    stopping = False

    def leave(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGINT, leave)
    with contextlib.ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="deploy-")))
        redis_url = stack.enter_context(redis_server(directory))
        running = stack.enter_context(deployment(arguments.proxy, arguments.setting, redis_url, directory))
        print(f"ready: {running.url}/ws/echo through {running.proxy}", flush=True)
        print(f"the proxy's certificate, for your client to trust: {running.certificate.certificate}", flush=True)
        while not stopping:
            time.sleep(0.2)
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
