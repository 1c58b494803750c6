#!/usr/bin/env python3
"""Generate the recorded canary cases under testdata/examples/.

Run from the repository root:

    python3 testdata/examples/generate.py

Deterministic and standard library only: every series comes from its own
random.Random(seed), every id is a uuid5 of a fixed name, and values are rounded
to a few significant digits (as a Prometheus dashboard would show them) so the
files do not depend on the last bit of the platform's libm.

Healthy series are baseline and canary drawn from the same distribution. A fair
draw still lands near Kayenta's decision band now and then (its 98 % interval
excludes 0 about 2 % of the time), which would make a fixture that flips on a
rounding detail, so the experiment seeds below were picked (the first that works,
counting up from control seed + 1) so that for every metric meant to pass, Kayenta's
Hodges-Lehmann-type estimate is under 0.6 of the interval's half-width. Metrics meant
to be High are shifted by about 6 standard deviations (latency x1.4, error rate x10,
memory x1.3), far beyond the band.

Each case folder gets:
  config.json      a Kayenta canary config (judge NetflixACAJudge-v1.0)
  pairs.json       a MetricSetPair list, as Kayenta stores it and serves it at
                   GET /metricSetPairList/{id} (NaN written as the string "NaN")
  thresholds.json  the request's score thresholds (omitted in healthy/, on purpose:
                   that case scores 100 and passes under any thresholds)
  expected.json    what Kayenta's judge gives for it (checked against an independent
                   port of the judge when these files were made)

The service: "web" in Kubernetes namespace "shop", scraped by Prometheus. The
canary stage runs two Deployments of equal size next to production, web-baseline
(the current image, redeployed fresh) and web-canary (the new image); their pods
are named web-baseline-<hash> and web-canary-<hash>, so the Kayenta scopes are
"web-baseline" and "web-canary" and the queries select pods by name. One point a
minute over one hour, 60 points per side.
"""

import json
import math
import os
import random
import uuid
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
NS = uuid.UUID("6f1c1d3e-5a0b-4c59-9a37-2f6e0c1b7a11")  # namespace for all ids here
STEP_MS = 60_000
POINTS = 60
NAN = float("nan")

CONTROL_SCOPE = "web-baseline"
EXPERIMENT_SCOPE = "web-canary"
POD_SELECTOR = 'namespace="shop",pod=~"${scope}-.*"'


def det_uuid(*parts):
    return str(uuid.uuid5(NS, "/".join(parts)))


def sig(v, digits=6):
    """Round to `digits` significant digits (NaN passes through)."""
    if math.isnan(v):
        return v
    return float(f"{v:.{digits}g}")


def iso(ms):
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def millis(text):
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp() * 1000)


# ---------------------------------------------------------------------------
# Canary config
# ---------------------------------------------------------------------------

def promql(metric_name, expr, canary, groups):
    return {
        "name": None,  # filled in by caller
        "query": {
            "type": "prometheus",
            "metricName": metric_name,
            "customInlineTemplate": "PromQL:" + expr,
            "serviceType": "prometheus",
        },
        "groups": groups,
        "analysisConfigurations": {"canary": canary},
        "scopeName": "default",
    }


def metric_configs(overrides=None):
    """The six metrics of the web service, in config order.

    overrides: {metric name: {canary setting: value}} merged into
    analysisConfigurations.canary.
    """
    overrides = overrides or {}
    sel = POD_SELECTOR
    metrics = []

    def add(name, cfg):
        cfg["name"] = name
        canary = cfg["analysisConfigurations"]["canary"]
        canary.update(overrides.get(name, {}))
        metrics.append(cfg)

    add("latency_p50_seconds", promql(
        "http_request_duration_seconds",
        f"histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket{{{sel}}}[5m])))",
        {"direction": "increase", "nanStrategy": "remove",
         "effectSize": {"allowedIncrease": 1.05}},
        ["latency"]))
    add("latency_p99_seconds", promql(
        "http_request_duration_seconds",
        f"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{{{sel}}}[5m])))",
        {"direction": "increase", "nanStrategy": "remove",
         "effectSize": {"allowedIncrease": 1.05}},
        ["latency"]))
    add("error_rate", promql(
        "http_requests_total",
        f'sum(rate(http_requests_total{{{sel},code=~"5.."}}[5m])) / sum(rate(http_requests_total{{{sel}}}[5m]))',
        {"direction": "increase", "nanStrategy": "remove", "critical": True},
        ["errors"]))
    add("request_rate", promql(
        "http_requests_total",
        f"sum(rate(http_requests_total{{{sel}}}[5m]))",
        {"direction": "either", "nanStrategy": "remove"},
        ["traffic"]))
    add("cpu_cores", promql(
        "container_cpu_usage_seconds_total",
        f'sum(rate(container_cpu_usage_seconds_total{{{sel},container="web"}}[5m]))',
        {"direction": "increase", "nanStrategy": "remove",
         "outliers": {"strategy": "keep"}},
        ["saturation"]))
    # Label-bindings form (no PromQL): Kayenta renders
    # avg(process_resident_memory_bytes{<customFilterTemplate pieces>,<labelBindings>}).
    mem = {
        "name": None,
        "query": {
            "type": "prometheus",
            "metricName": "process_resident_memory_bytes",
            "labelBindings": ['job="web"'],
            "groupByFields": [],
            "customFilterTemplate": "web-pods",
            "serviceType": "prometheus",
        },
        "groups": ["saturation"],
        "analysisConfigurations": {"canary": {"direction": "increase"}},
        "scopeName": "default",
    }
    add("memory_rss_bytes", mem)
    return metrics


def canary_config(case, description, metrics, group_weights, created):
    created_ms = millis(created)
    return {
        "createdTimestamp": created_ms,
        "updatedTimestamp": created_ms,
        "createdTimestampIso": iso(created_ms),
        "updatedTimestampIso": iso(created_ms),
        "name": f"web-{case}",
        "id": det_uuid("config", case),
        "description": description,
        "configVersion": "1.0",
        "applications": ["web"],
        "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
        "metrics": metrics,
        "templates": {"web-pods": POD_SELECTOR},
        "classifier": {
            "groupWeights": group_weights,
            "scoreThresholds": {"pass": 95, "marginal": 75},
        },
    }


WEB_WEIGHTS = {"latency": 50, "errors": 20, "traffic": 10, "saturation": 20}


# ---------------------------------------------------------------------------
# Rendering queries the way Kayenta's Prometheus service does (§5.2)
# ---------------------------------------------------------------------------

def render_query(config, metric, scope):
    q = metric["query"]
    if q.get("customInlineTemplate"):
        text = q["customInlineTemplate"].replace("${scope}", scope)
        assert text.startswith("PromQL:")
        return text[len("PromQL:"):]
    custom = config["templates"][q["customFilterTemplate"]].replace("${scope}", scope)
    filters = custom.split(",") + list(q.get("labelBindings", []))
    out = f"avg({q['metricName']}{{{','.join(filters)}}})"
    if q.get("groupByFields"):
        out += f" by ({','.join(q['groupByFields'])})"
    return out


# ---------------------------------------------------------------------------
# Series
# ---------------------------------------------------------------------------

def poisson(rng, lam):
    """Knuth's method for small lambda; normal approximation above 500."""
    if lam > 500:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def load_curve(phase):
    """Traffic both deployments see (same Service, same load): a gentle wave."""
    return [1.0 + 0.06 * math.sin(2 * math.pi * t / POINTS + phase) + 0.02 * math.sin(2 * math.pi * t / 13.0)
            for t in range(POINTS)]


class Side:
    """One deployment's recording: all six series, from a seed."""

    def __init__(self, seed, load, latency_factor=1.0, error_factor=1.0, memory_factor=1.0):
        self.rng = random.Random(seed)
        self.load = load
        self.latency_factor = latency_factor
        self.error_factor = error_factor
        self.memory_factor = memory_factor

    def latency_p50(self):
        f = self.latency_factor
        return [sig(f * self.rng.gauss(0.120, 0.008)) for _ in range(POINTS)]

    def latency_p99(self):
        f = self.latency_factor
        return [sig(f * self.rng.gauss(0.450, 0.030)) for _ in range(POINTS)]

    def request_rate(self):
        # requests/s over both pods of the deployment
        return [sig(42.0 * l + self.rng.gauss(0.0, 1.2), 5) for l in self.load]

    def error_rate(self, request_rate):
        # 5xx / all over a 5 m window: a Poisson count of errors among rate*300 requests.
        out = []
        for r in request_rate:
            n = r * 300.0
            errors = poisson(self.rng, n * 0.002 * self.error_factor)
            out.append(sig(errors / n))
        return out

    def cpu_cores(self):
        return [sig(0.35 * l + self.rng.gauss(0.0, 0.015), 4) for l in self.load]

    def memory_rss(self):
        # a fresh process: RSS warms up over ~10 minutes, then plateaus; whole pages.
        out = []
        for t in range(POINTS):
            v = self.memory_factor * (1.95e8 + 1.7e7 * (1.0 - math.exp(-t / 8.0))) + self.rng.gauss(0.0, 1.5e6)
            out.append(float(round(v / 4096) * 4096))
        return out

    def all(self):
        rr = self.request_rate()
        return {
            "latency_p50_seconds": self.latency_p50(),
            "latency_p99_seconds": self.latency_p99(),
            "error_rate": self.error_rate(rr),
            "request_rate": rr,
            "cpu_cores": self.cpu_cores(),
            "memory_rss_bytes": self.memory_rss(),
        }


def punch_gaps(series, positions):
    """Missed scrapes / no requests in a window: Prometheus returns NaN there."""
    s = list(series)
    for p in positions:
        s[p] = NAN
    return s


# ---------------------------------------------------------------------------
# Pairs
# ---------------------------------------------------------------------------

def metric_set_pair(case, config, metric, control, experiment, start_ms, step_ms=STEP_MS, tags=None):
    scope = {"startTimeIso": iso(start_ms), "startTimeMillis": start_ms, "stepMillis": step_ms}
    return {
        "name": metric["name"],
        "id": det_uuid("pair", case, metric["name"], json.dumps(tags or {}, sort_keys=True)),
        "tags": tags or {},
        "values": {"control": control, "experiment": experiment},
        "scopes": {"control": dict(scope), "experiment": dict(scope)},
        "attributes": {
            "control": {"query": render_query(config, metric, CONTROL_SCOPE)},
            "experiment": {"query": render_query(config, metric, EXPERIMENT_SCOPE)},
        },
    }


def pairs_for(case, config, control, experiment, start):
    start_ms = millis(start)
    return [metric_set_pair(case, config, m, control[m["name"]], experiment[m["name"]], start_ms)
            for m in config["metrics"]]


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------

def nan_to_string(obj):
    if isinstance(obj, float) and math.isnan(obj):
        return "NaN"
    if isinstance(obj, dict):
        return {k: nan_to_string(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [nan_to_string(v) for v in obj]
    return obj


def dumps(obj, indent=0):
    """JSON with 2-space indentation, lists of scalars kept on one line."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list):
        if all(not isinstance(v, (dict, list)) for v in obj):
            return "[" + ", ".join(json.dumps(v, allow_nan=False) for v in obj) + "]"
        return "[\n" + ",\n".join(inner + dumps(v, indent + 1) for v in obj) + "\n" + pad + "]"
    return json.dumps(obj, allow_nan=False)


def write_case(case, config, pairs, expected, thresholds=None):
    d = os.path.join(HERE, case)
    os.makedirs(d, exist_ok=True)
    files = {"config.json": config, "pairs.json": pairs, "expected.json": expected}
    if thresholds is not None:
        files["thresholds.json"] = thresholds
    elif os.path.exists(os.path.join(d, "thresholds.json")):
        os.remove(os.path.join(d, "thresholds.json"))
    for name, obj in files.items():
        with open(os.path.join(d, name), "w", encoding="utf-8") as f:
            f.write(dumps(nan_to_string(obj)) + "\n")


THRESHOLDS = {"pass": 95, "marginal": 75}
HEALTHY = {
    "latency_p50_seconds": "Pass",
    "latency_p99_seconds": "Pass",
    "error_rate": "Pass",
    "request_rate": "Pass",
    "cpu_cores": "Pass",
    "memory_rss_bytes": "Pass",
}


def expected(classification, score, reason, metrics):
    return {"classification": classification, "score": score, "reason": reason, "metrics": metrics}


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

def healthy():
    case = "healthy"
    config = canary_config(
        case, "web: latency, errors, traffic, saturation; the canary is the same code with a config-only change",
        metric_configs(), WEB_WEIGHTS, "2024-05-02T15:20:11Z")
    load = load_curve(0.4)
    control = Side(1001, load).all()
    experiment = Side(1004, load).all()
    # a few missed scrapes
    control["latency_p99_seconds"] = punch_gaps(control["latency_p99_seconds"], [17, 41])
    experiment["error_rate"] = punch_gaps(experiment["error_rate"], [8])
    experiment["latency_p99_seconds"] = punch_gaps(experiment["latency_p99_seconds"], [52])
    pairs = pairs_for(case, config, control, experiment, "2024-05-14T09:00:00Z")
    write_case(case, config, pairs, expected("Pass", 100.0, "", dict(HEALTHY)))


def latency_regression():
    case = "latency-regression"
    config = canary_config(
        case, "web: the canary adds a synchronous call to the pricing service; p50 and p99 latency +40 %",
        metric_configs(), WEB_WEIGHTS, "2024-05-02T15:20:11Z")
    load = load_curve(1.3)
    control = Side(2001, load).all()
    experiment = Side(2002, load, latency_factor=1.4).all()
    control["error_rate"] = punch_gaps(control["error_rate"], [33])
    experiment["latency_p99_seconds"] = punch_gaps(experiment["latency_p99_seconds"], [5, 6])
    pairs = pairs_for(case, config, control, experiment, "2024-05-21T13:30:00Z")
    metrics = dict(HEALTHY, latency_p50_seconds="High", latency_p99_seconds="High")
    write_case(case, config, pairs, expected("Fail", 50.0, "", metrics), THRESHOLDS)


def error_spike_critical():
    case = "error-spike-critical"
    config = canary_config(
        case, "web: the canary's new database driver times out under load; 5xx rate x10 on a critical metric",
        metric_configs(), WEB_WEIGHTS, "2024-05-02T15:20:11Z")
    load = load_curve(2.2)
    control = Side(3001, load).all()
    experiment = Side(3004, load, error_factor=10.0).all()
    control["latency_p99_seconds"] = punch_gaps(control["latency_p99_seconds"], [24])
    pairs = pairs_for(case, config, control, experiment, "2024-06-04T08:05:00Z")
    metrics = dict(HEALTHY, error_rate="High")
    write_case(case, config, pairs, expected(
        "Fail", 0.0, "Canary Failed: The metric error_rate was classified as High (Critical)", metrics), THRESHOLDS)


def no_data(case, must_have_data):
    overrides = {"memory_rss_bytes": {"mustHaveData": True}} if must_have_data else None
    what = ("memory is mustHaveData, so the missing series fails the metric" if must_have_data
            else "the memory metric is just reported as Nodata")
    config = canary_config(
        case, "web: the canary's new metrics library no longer registers the process collector, "
              "so process_resident_memory_bytes is missing for web-canary; " + what,
        metric_configs(overrides), WEB_WEIGHTS, "2024-05-02T15:20:11Z")
    load = load_curve(3.0 if must_have_data else 0.9)
    seeds = (5001, 5003) if must_have_data else (4001, 4002)
    control = Side(seeds[0], load).all()
    experiment = Side(seeds[1], load).all()
    # Prometheus returned no series for the canary: Kayenta stores a placeholder
    # MetricSet and the mixer pads it with expectedDataPoints NaNs.
    experiment["memory_rss_bytes"] = [NAN] * POINTS
    control["error_rate"] = punch_gaps(control["error_rate"], [12, 13])
    start = "2024-06-11T10:00:00Z" if must_have_data else "2024-06-10T16:45:00Z"
    pairs = pairs_for(case, config, control, experiment, start)
    if must_have_data:
        metrics = dict(HEALTHY, memory_rss_bytes="NodataFailMetric")
        exp = expected("Marginal", 90.0, "", metrics)
    else:
        metrics = dict(HEALTHY, memory_rss_bytes="Nodata")
        exp = expected("Pass", 100.0, "", metrics)
    write_case(case, config, pairs, exp, THRESHOLDS)


def muted_failing():
    case = "muted-failing"
    overrides = {"memory_rss_bytes": {"muted": True}}
    config = canary_config(
        case, "web: the canary doubles its in-process cache, so RSS is ~30 % higher; the team muted the memory "
              "metric while they resize the pods (reported, not scored)",
        metric_configs(overrides), WEB_WEIGHTS, "2024-05-02T15:20:11Z")
    load = load_curve(4.1)
    control = Side(6001, load).all()
    experiment = Side(6003, load, memory_factor=1.3).all()
    experiment["latency_p99_seconds"] = punch_gaps(experiment["latency_p99_seconds"], [30])
    pairs = pairs_for(case, config, control, experiment, "2024-07-02T11:15:00Z")
    metrics = dict(HEALTHY, memory_rss_bytes="High")
    write_case(case, config, pairs, expected("Pass", 100.0, "", metrics), THRESHOLDS)


def spinnaker_6278():
    case = "spinnaker-6278"
    metric = promql(
        "http_requests_total",
        'sum(increase(http_requests_total{' + POD_SELECTOR + ',code=~"5.."}[1m]))',
        {"direction": "increase", "nanStrategy": "remove"},
        ["errors"])
    metric["name"] = "errors_per_minute"
    config = canary_config(
        case, "spinnaker/spinnaker#6278: 7 of 10 canary points at 100 against an all-1 baseline; "
              "Kayenta's judge passes it (the 98 % interval's lower end, 6.8e-5, is below 25 % of the "
              "estimate, 24.75). Documents Kayenta's fault; kanary's own judge fails it.",
        [metric], {"errors": 100}, "2024-05-02T15:20:11Z")
    control = [1.0] * 10
    experiment = [100.0] * 7 + [1.0] * 3
    pairs = [metric_set_pair(case, config, metric, control, experiment, millis("2024-07-09T12:00:00Z"))]
    write_case(case, config, pairs, expected("Pass", 100.0, "", {"errors_per_minute": "Pass"}), THRESHOLDS)


def main():
    healthy()
    latency_regression()
    error_spike_critical()
    no_data("no-data", must_have_data=False)
    no_data("missing-required-data", must_have_data=True)
    muted_failing()
    spinnaker_6278()


if __name__ == "__main__":
    main()
