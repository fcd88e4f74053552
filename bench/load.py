"""Load generators of bench/net_serve.py: wrk, redis-benchmark and ab, run and parsed.

Each returns the figures as Metrics (bench/stats.py) and raises RuntimeError when the
tool failed or reported errors, so a run with failed requests is a failed sample, never
a fast one.
"""

from __future__ import annotations

import re
import subprocess

from bench.stats import Metrics

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
_PERCENTILE = re.compile(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_WRK_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_WRK_SOCKET_ERRORS = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
)
_WRK_NON2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_REDIS_LINE = re.compile(r"^(SET|GET): ([\d.]+) requests per second", re.MULTILINE)


def _run(argv: list[str], timeout: float) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{argv[0]} exited {proc.returncode}: {(proc.stderr or proc.stdout)[-300:]}"
        )
    return proc.stdout.replace("\r", "\n") + proc.stderr


def wrk(url: str, connections: int, seconds: int) -> Metrics:
    """``wrk -c N -d S --latency URL``: requests/s, p50 and p99 latency in seconds."""
    threads = max(1, min(connections, 2))  # the host has 2 cores; wrk needs t <= c
    out = _run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
         "--timeout", "10s", "--latency", url],
        timeout=seconds + 60,
    )  # fmt: skip
    rps = _WRK_RPS.search(out)
    if rps is None:
        raise RuntimeError(f"wrk printed no Requests/sec: {out[-300:]}")
    errors = _WRK_SOCKET_ERRORS.search(out)
    if errors is not None and any(int(n) for n in errors.groups()):
        raise RuntimeError(f"wrk saw socket errors: {errors.group(0)}")
    if (bad := _WRK_NON2XX.search(out)) is not None:
        raise RuntimeError(f"wrk: {bad.group(1)} responses were not 2xx or 3xx")
    latency = {p: float(v) * _UNITS[u] for p, v, u in _PERCENTILE.findall(out)}
    return {"rps": float(rps.group(1)), "p50": latency.get("50"), "p99": latency.get("99")}


def redis_benchmark(port: int, requests: int = 20000) -> Metrics:
    """``redis-benchmark -q -n N -t set,get``: SET and GET operations per second."""
    out = _run(
        ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-q", "-n", str(requests),
         "-t", "set,get"],
        timeout=900,
    )  # fmt: skip
    if "rror" in out:
        raise RuntimeError(f"redis-benchmark reported errors: {out[-300:]}")
    found = {op: float(v) for op, v in _REDIS_LINE.findall(out)}
    if set(found) != {"SET", "GET"}:
        raise RuntimeError(f"redis-benchmark printed no SET/GET figures: {out[-300:]}")
    return {"set": found["SET"], "get": found["GET"]}


def ab_passes(url: str, requests: int = 10000, concurrency: int = 50) -> str | None:
    """None if ``ab -n N -c C URL`` completed every request without a failure, else why."""
    try:
        out = _run(
            ["ab", "-q", "-n", str(requests), "-c", str(concurrency), "-s", "30", url],
            timeout=1800,
        )
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        return str(exc)[:300]
    fields = dict(re.findall(r"^([A-Za-z -]+):\s+(\S+)", out, re.MULTILINE))
    if fields.get("Complete requests") != str(requests):
        return f"ab completed {fields.get('Complete requests')} of {requests} requests"
    if fields.get("Failed requests") != "0" or "Non-2xx responses" in fields:
        failed, non2xx = fields.get("Failed requests"), fields.get("Non-2xx responses", 0)
        return f"ab: {failed} failed requests, {non2xx} non-2xx responses"
    return None
