#!/usr/bin/env python3
"""Recorded Prometheus data for kanary's end-to-end tests and fetch benchmark.

Usage (from the repo root): python3 testdata/e2e/generate.py

Writes testdata/e2e/metrics.om (OpenMetrics, timestamps in seconds, ends with # EOF), to be
backfilled with `promtool tsdb create-blocks-from openmetrics`. The window is fixed in the
past (2026-01-01T10:00:00Z to 11:00:00Z at 60 s), so it is always older than Prometheus's
3 h head block and the output is byte-for-byte reproducible.

Pods (label `pod`):
  web-baseline-0  the baseline
  web-good-0      a healthy canary: same distributions as the baseline
  web-bad-0       a bad canary: latency +60 %, errors x8, CPU +50 %
Series per pod: request_latency_seconds (gauge), request_errors_per_second (gauge),
cpu_usage_cores (gauge), and bench_metric_00..49 (gauges, for the 50-metric fetch benchmark).
Both canaries share the baseline's slowly varying load, as side-by-side deployments do.
"""
import math
import os
import random

START = 1767261600  # 2026-01-01T10:00:00Z
STEP = 60
POINTS = 61  # both ends of the hour
HERE = os.path.dirname(os.path.abspath(__file__))

rng = random.Random(20261130)
load = []
x = 0.0
for _ in range(POINTS):
    x = 0.9 * x + rng.gauss(0, 0.2 * math.sqrt(1 - 0.81))
    load.append(x)

PODS = {
    "web-baseline-0": dict(lat=1.0, err=1.0, cpu=1.0),
    "web-good-0": dict(lat=1.0, err=1.0, cpu=1.0),
    "web-bad-0": dict(lat=1.6, err=8.0, cpu=1.5),
}

series = {}  # (metric, pod) -> values


def noise(sd):
    return rng.gauss(0, sd)


for pod, f in PODS.items():
    series[("request_latency_seconds", pod)] = [
        round(0.200 * f["lat"] * math.exp(load[i] + noise(0.1)), 6) for i in range(POINTS)
    ]
    series[("request_errors_per_second", pod)] = [
        round(max(0.0, 0.05 * f["err"] * math.exp(load[i]) + noise(0.01)), 6) for i in range(POINTS)
    ]
    series[("cpu_usage_cores", pod)] = [
        round(0.50 * f["cpu"] * math.exp(0.5 * load[i] + noise(0.05)), 6) for i in range(POINTS)
    ]
    for m in range(50):
        series[(f"bench_metric_{m:02d}", pod)] = [
            round(10.0 + m + math.exp(load[i]) + noise(0.5), 6) for i in range(POINTS)
        ]

lines = []
metrics = sorted({m for m, _ in series})
for metric in metrics:
    lines.append(f"# TYPE {metric} gauge")
    for pod in PODS:
        for i, v in enumerate(series[(metric, pod)]):
            lines.append(f'{metric}{{app="web",pod="{pod}"}} {v} {START + i * STEP}')
lines.append("# EOF")
with open(os.path.join(HERE, "metrics.om"), "w", encoding="utf-8") as fh:
    fh.write("\n".join(lines) + "\n")
print(f"metrics.om: {len(metrics)} metrics x {len(PODS)} pods x {POINTS} points")
