"""A small asyncio HTTP/1.1 load generator: keep-alive connections, pre-built requests, latency per request.

Cheap per request (no HTTP library on the hot path), so on a 2-core machine most CPU goes to the server
under test rather than to the client measuring it.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class LoadResult:
    sent: int
    ok: int
    statuses: dict[int, int]
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")

    @property
    def p99_ms(self) -> float:
        return self.percentile(99) * 1000


def build_request(
    host: str, port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
    if body or method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


async def _worker(
    host: str,
    port: int,
    make: Callable[[int], bytes],
    counter: list[int],
    total: int,
    result: LoadResult,
    interval: float | None,
    start: float,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            i = counter[0]
            if i >= total:
                return
            counter[0] += 1
            if interval is not None:
                delay = start + i * interval - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            t0 = time.perf_counter()
            writer.write(make(i))
            status = await _read_response(reader)
            result.latencies.append(time.perf_counter() - t0)
            result.sent += 1
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status < 300:
                result.ok += 1
    finally:
        writer.close()


async def _run(
    host: str, port: int, make: Callable[[int], bytes], total: int, connections: int, rate: float | None
) -> LoadResult:
    result = LoadResult(0, 0, {}, 0.0, [])
    counter = [0]
    start = time.perf_counter()
    interval = 1.0 / rate if rate else None
    await asyncio.gather(
        *(_worker(host, port, make, counter, total, result, interval, start) for _ in range(connections))
    )
    result.seconds = time.perf_counter() - start
    return result


def load(
    host: str, port: int, make: Callable[[int], bytes], *, total: int, connections: int = 16, rate: float | None = None
) -> LoadResult:
    """Send ``total`` requests (``make(i)`` builds request i) over ``connections`` keep-alive connections,
    as fast as possible, or paced at ``rate`` requests per second."""
    return asyncio.run(_run(host, port, make, total, connections, rate))
