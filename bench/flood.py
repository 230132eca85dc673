#!/usr/bin/env python3
"""Open-loop login flood: POST /auth/login at a fixed rate, whatever the
answers take (wrk keeps a fixed number of requests in flight instead, which
cannot offer "twice the hash ceiling"). Prints, per status, the count and
the p50/p99/max latency, as JSON.

    bench/flood.py URL RATE SECONDS USERS_FILE TENANT
"""
import http.client
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

url, rate, secs, users_file, tenant = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
password = os.environ["BENCH_PASSWORD"]
users = [line.strip() for line in open(users_file) if line.strip()]
target = urlparse(url)
local = threading.local()
lock = threading.Lock()
results = []  # (status, seconds)


def login(i):
    conn = getattr(local, "conn", None)
    if conn is None:
        conn = local.conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
    body = json.dumps({"identifier": users[i % len(users)], "password": password})
    started = time.perf_counter()
    try:
        conn.request("POST", "/api/v1/auth/login", body,
                     {"Content-Type": "application/json", "X-Tenant-ID": tenant})
        response = conn.getresponse()
        response.read()
        status = response.status
        if status in (429, 503) and not response.getheader("Retry-After"):
            status = f"{status} without Retry-After"
    except Exception as e:  # noqa: BLE001 - counted and reported
        local.conn = None
        status = type(e).__name__
    elapsed = time.perf_counter() - started
    with lock:
        results.append((str(status), elapsed))


total = int(rate * secs)
with ThreadPoolExecutor(max_workers=256) as pool:
    start = time.perf_counter()
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        pool.submit(login, i)
    offered = total / (time.perf_counter() - start)


def pct(values, p):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(p * len(values)))] * 1000, 1)


by_status = {}
for status, elapsed in results:
    by_status.setdefault(status, []).append(elapsed)
print(json.dumps({
    "offered_per_s": round(offered, 1),
    "statuses": {s: {"count": len(v), "p50_ms": pct(v, 0.5), "p99_ms": pct(v, 0.99), "max_ms": round(max(v) * 1000, 1)}
                 for s, v in sorted(by_status.items())},
}))
