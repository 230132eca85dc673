#!/usr/bin/env python3
"""wrk --latency output on stdin → "req/s p50 p99 non-2xx" (latencies in ms),
for bench/load.sh and bench/scale.sh."""
import re
import sys

out = sys.stdin.read()


def ms(label):
    m = re.search(r"^\s*" + label + r"\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if not m:
        return float("nan")
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]


rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
errs = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
print(rps.group(1) if rps else "nan", ms("50%"), ms("99%"), errs.group(1) if errs else 0)
