"""A real redis-server for the tests that need one (tests/security/test_limits_redis*.py), started on a free port."""

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from fastapi_ws_reject.testing import RunningServer
from fastapi_ws_reject.testing._servers import _wait_until_listening, free_port


@contextlib.contextmanager
def redis_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server of our own on a free loopback port, stopped by its PID.

    ```python
    with redis_server() as (url, process):
        backend = RedisBackend(Redis.from_url(url))
    ```
    """
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed; .ci/run installs Debian's redis-server package.")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--enable-debug-command",
            "local",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_listening(RunningServer("redis", port, None), 10, lambda: process.poll() is None)
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)  # a test may have paused it with SIGSTOP
            os.kill(process.pid, signal.SIGTERM)
            process.wait(timeout=10)


def _require_redis_server() -> None:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed; .ci/run installs Debian's redis-server package.")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGCONT)
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _start(port: int, *arguments: str) -> subprocess.Popen[bytes]:
    """A redis-server (or, with `--sentinel` among `arguments`, a sentinel) on `port`, listening when returned."""
    process = subprocess.Popen(
        ["redis-server", *arguments, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_listening(RunningServer("redis", port, None), 10, lambda: process.poll() is None)
    except BaseException:
        _stop(process)
        raise
    return process


def _until(check: Callable[[], bool], within: float, failure: str) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            if check():
                return
        except redis.RedisError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(failure)
        time.sleep(0.05)


@dataclass
class SentinelSetup:
    """A master, its replica and a sentinel watching them as `SENTINEL_MASTER`, all on loopback ports."""

    sentinel_port: int
    master: subprocess.Popen[bytes]
    master_port: int
    replica: subprocess.Popen[bytes]
    replica_port: int


SENTINEL_MASTER = "mymaster"


@contextlib.contextmanager
def redis_sentinel() -> Iterator[SentinelSetup]:
    """A master, one replica and one sentinel (`redis-server <conf> --sentinel`, quorum 1) with short failover
    timings (down after 500 ms, failover timeout 2 s); every process stopped by its PID.

    ```python
    with redis_sentinel() as setup:
        client = Sentinel([("127.0.0.1", setup.sentinel_port)]).master_for(SENTINEL_MASTER)
    ```
    """
    _require_redis_server()
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="sentinel-") as directory:
        try:
            master_port, replica_port, sentinel_port = free_port(), free_port(), free_port()
            # A replica's first sync writes an RDB file in the master's --dir: the temporary directory, not ours.
            processes.append(_start(master_port, "--dir", directory))
            processes.append(_start(replica_port, "--dir", directory, "--replicaof", "127.0.0.1", str(master_port)))
            conf = Path(directory, "sentinel.conf")
            conf.write_text(
                f"dir {directory}\n"
                f"sentinel monitor {SENTINEL_MASTER} 127.0.0.1 {master_port} 1\n"
                f"sentinel down-after-milliseconds {SENTINEL_MASTER} 500\n"
                f"sentinel failover-timeout {SENTINEL_MASTER} 2000\n"
            )
            processes.append(_start(sentinel_port, str(conf), "--sentinel"))
            replica = redis.Redis(port=replica_port)
            sentinel = redis.Redis(port=sentinel_port)
            try:
                _until(
                    lambda: replica.info("replication")["master_link_status"] == "up", 10, "the replica did not sync"
                )
                _until(
                    lambda: any(
                        int(found["port"]) == replica_port
                        for found in sentinel.sentinel_slaves(SENTINEL_MASTER)  # pyright: ignore[reportUnknownMemberType]
                    ),
                    15,
                    "the sentinel did not find the replica",
                )
            finally:
                replica.close()
                sentinel.close()
            yield SentinelSetup(sentinel_port, processes[0], master_port, processes[1], replica_port)
        finally:
            for process in reversed(processes):
                _stop(process)


CLUSTER_SLOTS = 16384


@dataclass
class ClusterSetup:
    """The masters of a Redis Cluster: their ports and processes, in the same order."""

    ports: list[int]
    processes: list[subprocess.Popen[bytes]]


@contextlib.contextmanager
def redis_cluster(masters: int = 3) -> Iterator[ClusterSetup]:
    """A Redis Cluster of `masters` masters (`--cluster-enabled yes`, no replicas) on loopback ports, the slots
    split evenly, built with CLUSTER ADDSLOTS and MEET (no redis-cli needed). Every process stopped by its PID.

    ```python
    with redis_cluster() as cluster:
        client = RedisCluster(host="127.0.0.1", port=cluster.ports[0])
    ```
    """
    _require_redis_server()
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="cluster-") as directory:
        try:
            ports = [free_port() for _ in range(masters)]
            for port in ports:
                # The bus port is ours too: port + 10000, the default, may be taken or past 65535.
                processes.append(
                    _start(
                        port,
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        str(Path(directory, f"nodes-{port}.conf")),
                        "--cluster-port",
                        str(free_port()),
                        "--cluster-node-timeout",
                        "2000",
                        "--dir",
                        directory,
                    )
                )
            nodes = [redis.Redis(port=port) for port in ports]
            try:
                for index, node in enumerate(nodes):
                    first, last = CLUSTER_SLOTS * index // masters, CLUSTER_SLOTS * (index + 1) // masters
                    node.execute_command("CLUSTER ADDSLOTS", *range(first, last))
                for port, node in zip(ports[1:], nodes[1:], strict=True):
                    bus = int(node.config_get("cluster-port")["cluster-port"])
                    nodes[0].execute_command("CLUSTER MEET", "127.0.0.1", port, bus)
                for node in nodes:
                    _until(
                        lambda node=node: (
                            node.cluster("INFO")["cluster_state"] == "ok" and len(node.cluster("NODES")) == masters
                        ),
                        15,
                        "the cluster did not form",
                    )
            finally:
                for node in nodes:
                    node.close()
            yield ClusterSetup(ports, processes)
        finally:
            for process in reversed(processes):
                _stop(process)
