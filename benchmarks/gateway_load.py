"""Gateway under load: POST /query_result throughput and latency, through the gateway vs direct.

Starts the reference backend and a gateway in front of it, finishes one task, then lets C clients
(keep-alive connections, minimal HTTP/1.1 written by hand so the load generator itself stays
cheap) ask about that task as fast as they can for ``--seconds``. Direct and gateway rounds are
interleaved (``--rounds`` each) so both see the same machine; the medians are printed:

- throughput ratio (gateway / direct requests per second) at each client count;
- p50 latency per request, and the gateway's added p50 at 1 client.

Usage::

    .venv/bin/python -m benchmarks.gateway_load
    .venv/bin/python -m benchmarks.gateway_load --clients 1 10 50 --seconds 3 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from urllib.parse import urlsplit


async def _client(host: str, port: int, body: bytes, until: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    head = (f"POST /query_result HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    try:
        while time.perf_counter() < until:
            t0 = time.perf_counter()
            writer.write(head + body)
            await writer.drain()
            length = None
            status = await reader.readline()
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if length is None or not status.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"unexpected answer {status!r} (content-length {length})")
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
    finally:
        writer.close()


async def _round(url: str, task_id: str, clients: int, seconds: float) -> tuple[float, float]:
    """(requests per second, p50 latency s) of ``clients`` hammering ``url`` for ``seconds``."""
    parts = urlsplit(url)
    body = json.dumps({"task_id_list": [task_id]}).encode()
    latencies: list[float] = []
    until = time.perf_counter() + seconds
    t0 = time.perf_counter()
    await asyncio.gather(*(_client(parts.hostname, parts.port, body, until, latencies) for _ in range(clients)))
    wall = time.perf_counter() - t0
    return len(latencies) / wall, statistics.median(latencies)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--seconds", type=float, default=3.0, help="per round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per target and client count")
    args = parser.parse_args(argv)

    from benchmarks.servers import reference_and_gateway

    with reference_and_gateway("acekit-gwload-") as servers:
        direct, gateway, task_id = servers.backend, servers.gateway, servers.warm_task_id
        print(f"reference backend {direct}, gateway {gateway}; {args.rounds} interleaved rounds of "
              f"{args.seconds:g} s per point, POST /query_result for one finished task")
        print(f"{'clients':>7} {'direct req/s':>13} {'gateway req/s':>14} {'ratio':>6} "
              f"{'direct p50 ms':>14} {'gateway p50 ms':>15} {'added p50 ms':>13}")
        for n in args.clients:
            runs: dict[str, list[tuple[float, float]]] = {"direct": [], "gateway": []}
            for _ in range(args.rounds):
                for label, url in (("direct", direct), ("gateway", gateway)):
                    runs[label].append(asyncio.run(_round(url, task_id, n, args.seconds)))
            rate = {k: statistics.median(r for r, _ in v) for k, v in runs.items()}
            p50 = {k: statistics.median(p for _, p in v) for k, v in runs.items()}
            print(f"{n:>7} {rate['direct']:>13.0f} {rate['gateway']:>14.0f} {rate['gateway'] / rate['direct']:>6.2f} "
                  f"{p50['direct'] * 1e3:>14.2f} {p50['gateway'] * 1e3:>15.2f} "
                  f"{(p50['gateway'] - p50['direct']) * 1e3:>13.2f}")
        print("targets (issue 8): ratio >= 0.8 at 50 clients; added p50 <= 1 ms at 1 client")


if __name__ == "__main__":
    main()
