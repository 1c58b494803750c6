#!/usr/bin/env python3
"""Writes the Prometheus fixtures of kanary's tests (deterministic: no clock, no randomness).

    python3 testdata/prometheus/generate.py     # from the repository root

* range_query_{without_tags,with_tags,empty}.json: Prometheus `query_range` answers for
  Kayenta's `PrometheusRemoteServiceTest` (kayenta-prometheus/src/test/resources/prometheus/
  rangeQuery*.json). The original files are not in this repository; these are rebuilt
  from the expected parse in testdata/kayenta_vectors/prometheus_remote_service.json: the
  same start, 1 s spacing, values, and labels (plus a `__name__`, which the reader drops).
* canary.om: OpenMetrics text that tests/prometheus_server.rs backfills into a real
  Prometheus (promtool tsdb create-blocks-from openmetrics). Two gauges, a baseline and a
  canary series each, 61 samples at 60 s from 2025-01-01T00:00:00Z; the canary latency
  series has no samples at indexes 20..=29 (a 10-minute gap, longer than Prometheus's
  5-minute lookback).
"""

import json
import math
import os

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "kayenta_vectors", "prometheus_remote_service.json")

START = 1735689600  # 2025-01-01T00:00:00Z: always far older than the 3 h head block
SPACING = 60
POINTS = 61
GAP = range(20, 30)


def fmt(v):
    """Prometheus's float text for an integer-valued fixture value ("43")."""
    return str(int(v)) if float(v).is_integer() else repr(v)


def range_answer(results):
    return {"status": "success", "data": {"resultType": "matrix", "result": results}}


def write_json(name, obj):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def kayenta_fixtures():
    vectors = {v["name"]: v for v in json.load(open(VECTORS))}
    for vector_name, file_name, metric_name in [
        ("rangeQueryWithoutTags", "range_query_without_tags.json", "requests_total"),
        ("rangeQueryWithTags", "range_query_with_tags.json", "http_server_requests_seconds_count"),
    ]:
        results = []
        for r in expected_results(vectors[vector_name]):
            start_ms = r["startTimeMillis"]
            values = [
                # Prometheus writes times as float seconds with millisecond precision.
                [(start_ms + k * r["stepSecs"] * 1000) / 1000, fmt(v)]
                for k, v in enumerate(r["values"])
            ]
            results.append({"metric": {"__name__": metric_name, **r["tags"]}, "values": values})
        write_json(file_name, range_answer(results))
    write_json("range_query_empty.json", vectors["rangeQueryEmpty"]["input"]["response_body"])


def expected_results(vector):
    return vector["expected"]["results"]


def latency(i, phase):
    return round(0.1 + 0.02 * math.sin(i / 5 + phase), 4)


def error_ratio(i, base, period):
    return round(base + (i % period) * 0.001, 4)


def openmetrics():
    families = [
        ("request_latency_seconds", "Request latency.", [
            ("web-baseline-1", lambda i: latency(i, 0.0), ()),
            ("web-canary-1", lambda i: latency(i, 1.0) + 0.01, GAP),
        ]),
        ("error_ratio", "Share of requests that failed.", [
            ("web-baseline-1", lambda i: error_ratio(i, 0.01, 5), ()),
            ("web-canary-1", lambda i: error_ratio(i, 0.02, 3), ()),
        ]),
    ]
    lines = []
    for name, help_text, series in families:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")
        for pod, value, gap in series:
            for i in range(POINTS):
                if i in gap:
                    continue
                v = round(value(i), 4)
                lines.append(f'{name}{{app="web",pod="{pod}"}} {v!r} {START + i * SPACING}')
    lines.append("# EOF")
    with open(os.path.join(HERE, "canary.om"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    kayenta_fixtures()
    openmetrics()
