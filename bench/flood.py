#!/usr/bin/env python3
"""Open-loop login flood: POST /auth/login at a fixed rate, whatever the
answers take (wrk keeps a fixed number of requests in flight instead, which
cannot offer "twice the hash ceiling"). One asyncio loop and plain sockets,
so the generator itself costs little CPU. Prints, per status, the count and
the p50/p99/max latency, as JSON.

    bench/flood.py URL RATE SECONDS USERS_FILE TENANT
"""
import asyncio
import json
import os
import sys
import time
from urllib.parse import urlparse

url, rate, secs, users_file, tenant = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
password = os.environ["BENCH_PASSWORD"]
users = [line.strip() for line in open(users_file) if line.strip()]
target = urlparse(url)
results = []  # (status, seconds)
idle = []  # open connections not in use


async def login(i):
    body = json.dumps({"identifier": users[i % len(users)], "password": password}).encode()
    head = (f"POST /api/v1/auth/login HTTP/1.1\r\nHost: {target.hostname}\r\n"
            f"Content-Type: application/json\r\nX-Tenant-ID: {tenant}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    started = time.perf_counter()
    try:
        reader, writer = idle.pop() if idle else await asyncio.open_connection(target.hostname, target.port)
        writer.write(head + body)
        status_line = await reader.readline()
        status = int(status_line.split()[1])
        length, retry_after = 0, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "retry-after":
                retry_after = True
        await reader.readexactly(length)
        idle.append((reader, writer))
        label = str(status) if status not in (429, 503) or retry_after else f"{status} without Retry-After"
    except Exception as e:  # noqa: BLE001 - counted and reported
        label = type(e).__name__
    results.append((label, time.perf_counter() - started))


async def main():
    total = int(rate * secs)
    start = time.perf_counter()
    tasks = []
    for i in range(total):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(login(i)))
    offered = total / (time.perf_counter() - start)
    await asyncio.gather(*tasks)
    return offered


def pct(values, p):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(p * len(values)))] * 1000, 1)


cpu = time.process_time()
offered = asyncio.run(main())
by_status = {}
for status, elapsed in results:
    by_status.setdefault(status, []).append(elapsed)
print(json.dumps({
    "offered_per_s": round(offered, 1),
    "generator_cpu_s": round(time.process_time() - cpu, 2),
    "statuses": {s: {"count": len(v), "p50_ms": pct(v, 0.5), "p99_ms": pct(v, 0.99), "max_ms": round(max(v) * 1000, 1)}
                 for s, v in sorted(by_status.items())},
}))
