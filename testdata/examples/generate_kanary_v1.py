#!/usr/bin/env python3
"""Generate testdata/examples/kanary-v1-latency-under-load/: the recommended kanary-v1 config.

Run from the repository root:

    python3 testdata/examples/generate_kanary_v1.py

Deterministic and standard library only (one random.Random per series, values rounded to
6 significant digits, ids uuid5 of fixed names), like generate.py, whose shop service and
scopes this case shares.

The case: the canary's p50 and p99 latency are 8 % higher, while both sides follow the
same slowly varying load (AR(1), phi 0.9, sd 0.2 on the log scale: time of day, a slow
dependency), with small independent noise per side (sd 0.05). Errors and requests are
per-minute counts (increase(...[1m])): errors 0.2 % of requests on both sides (healthy).
Both sides are aligned on the same one-minute grid (attributes.aligned = "true"), so
kanary-v1 compares them timestamp by timestamp.

The config uses judge "kanary-v1": latency as gauges (direction increase), errors as
`kind: counter` with `denominator: requests` and a 20 % margin, requests muted, CPU as a
gauge. Expected (checked with `kanary judge`): both latency metrics High, errors and CPU
Pass; the latency group (weight 50) scores 0, so the canary fails with 50. Kayenta's judge
on the same pairs passes the latency (its band is relative to an estimate blurred by the
shared load); see README.md.
"""

import json
import math
import os
import random
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
CASE = os.path.join(HERE, "kanary-v1-latency-under-load")
NS = uuid.UUID("6f1c1d3e-5a0b-4c59-9a37-2f6e0c1b7a11")
STEP_MS = 60_000
POINTS = 60
START_MS = 1715677200000  # 2024-05-14T09:00:00Z
START_ISO = "2024-05-14T09:00:00Z"


def sig(v, digits=6):
    if v == 0:
        return 0.0
    return float(f"{v:.{digits - 1}e}")


def ar1(rng, phi, sd):
    innovation = sd * math.sqrt(1 - phi * phi)
    x = rng.gauss(0, sd)
    out = []
    for _ in range(POINTS):
        out.append(x)
        x = phi * x + rng.gauss(0, innovation)
    return out


def poisson(rng, mean):
    # Knuth's product of uniforms in chunks of mean <= 30 (a sum of independent Poissons).
    total = 0
    left = mean
    while left > 0:
        chunk = min(left, 30.0)
        left -= chunk
        limit = math.exp(-chunk)
        p = rng.random()
        while p > limit:
            total += 1
            p *= rng.random()
    return total


def query(template, scope):
    return template.replace("${scope}", scope)


def pair(name, template, control, experiment):
    side = {"startTimeIso": START_ISO, "startTimeMillis": START_MS, "stepMillis": STEP_MS}
    return {
        "name": name,
        "id": str(uuid.uuid5(NS, "kanary-v1-latency-under-load/" + name)),
        "tags": {},
        "values": {"control": control, "experiment": experiment},
        "scopes": {"control": dict(side), "experiment": dict(side)},
        "attributes": {
            "control": {"query": query(template, "web-baseline"), "aligned": "true"},
            "experiment": {"query": query(template, "web-canary"), "aligned": "true"},
        },
    }


P50 = ('histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket'
       '{namespace="shop",pod=~"${scope}-.*"}[5m])))')
P99 = P50.replace("0.5,", "0.99,", 1)
ERRORS = 'sum(increase(http_requests_total{namespace="shop",pod=~"${scope}-.*",code=~"5.."}[1m]))'
REQUESTS = 'sum(increase(http_requests_total{namespace="shop",pod=~"${scope}-.*"}[1m]))'
CPU = ('sum(rate(container_cpu_usage_seconds_total{namespace="shop",pod=~"${scope}-.*",'
       'container="web"}[5m]))')


def latency(seed, median, regress):
    load = ar1(random.Random(seed), 0.9, 0.2)
    own_b = random.Random(seed + 1)
    own_e = random.Random(seed + 2)
    control = [sig(median * math.exp(l + own_b.gauss(0, 0.05))) for l in load]
    experiment = [sig(median * regress * math.exp(l + own_e.gauss(0, 0.05))) for l in load]
    return control, experiment


def main():
    pairs = []
    c, e = latency(801, 0.120, 1.08)
    pairs.append(pair("latency_p50_seconds", P50, c, e))
    c, e = latency(811, 0.450, 1.08)
    pairs.append(pair("latency_p99_seconds", P99, c, e))
    rng_b, rng_e = random.Random(821), random.Random(822)
    req_b = [float(poisson(rng_b, 10000.0)) for _ in range(POINTS)]
    req_e = [float(poisson(rng_e, 10000.0)) for _ in range(POINTS)]
    err_b = [float(poisson(rng_b, 0.002 * q)) for q in req_b]
    err_e = [float(poisson(rng_e, 0.002 * q)) for q in req_e]
    pairs.append(pair("errors", ERRORS, err_b, err_e))
    pairs.append(pair("requests", REQUESTS, req_b, req_e))
    load = ar1(random.Random(831), 0.9, 0.15)
    own_b, own_e = random.Random(832), random.Random(833)
    pairs.append(pair("cpu_cores", CPU,
                      [sig(1.6 * math.exp(l + own_b.gauss(0, 0.05))) for l in load],
                      [sig(1.6 * math.exp(l + own_e.gauss(0, 0.05))) for l in load]))

    def metric(name, template, group, canary):
        return {
            "name": name,
            "query": {
                "type": "prometheus",
                "metricName": name,
                "customInlineTemplate": "PromQL:" + template,
                "serviceType": "prometheus",
            },
            "groups": [group],
            "analysisConfigurations": {"canary": canary},
            "scopeName": "default",
        }

    config = {
        "createdTimestamp": 1715677200000,
        "updatedTimestamp": 1715677200000,
        "createdTimestampIso": START_ISO,
        "updatedTimestampIso": START_ISO,
        "name": "web-kanary-v1",
        "id": str(uuid.uuid5(NS, "kanary-v1-latency-under-load/config")),
        "description": "The recommended kanary-v1 setup: latency gauges compared timestamp by "
                       "timestamp, errors as counters over requests. Canary latency +8 % "
                       "under a shared, slowly varying load.",
        "configVersion": "1.0",
        "applications": ["web"],
        "judge": {
            "name": "kanary-v1",
            "judgeConfigurations": {"alpha": 0.05, "errorControl": "holm"},
        },
        "metrics": [
            metric("latency_p50_seconds", P50, "latency",
                   {"direction": "increase", "kind": "gauge"}),
            metric("latency_p99_seconds", P99, "latency",
                   {"direction": "increase", "kind": "gauge"}),
            metric("errors", ERRORS, "errors",
                   {"direction": "increase", "kind": "counter", "denominator": "requests",
                    "margin": 0.2, "nanStrategy": "replace"}),
            metric("requests", REQUESTS, "errors",
                   {"kind": "counter", "muted": True, "nanStrategy": "replace"}),
            metric("cpu_cores", CPU, "saturation",
                   {"direction": "increase", "kind": "gauge"}),
        ],
        "templates": {},
        "classifier": {
            "groupWeights": {"latency": 50, "errors": 30, "saturation": 20},
            "scoreThresholds": {"pass": 95, "marginal": 75},
        },
    }
    os.makedirs(CASE, exist_ok=True)
    with open(os.path.join(CASE, "config.json"), "w") as f:
        json.dump(config, f, indent=2, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(CASE, "pairs.json"), "w") as f:
        json.dump(pairs, f, indent=1)
        f.write("\n")
    with open(os.path.join(CASE, "thresholds.json"), "w") as f:
        json.dump({"pass": 95, "marginal": 75}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
