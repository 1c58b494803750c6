#!/usr/bin/env python3
"""Split the Kayenta reference test vectors into one JSON file per suite.

Usage (from the repo root):
    python3 testdata/kayenta_vectors/extract.py [path/to/kayenta_vectors.json]

The reference path defaults to ../shared/reference/kayenta_vectors.json
relative to the repo root. Entries are copied verbatim (same objects, same
keys, NaN kept as the string "NaN"), in their original order, pretty-printed
with indent 1 (the reference file's own layout).
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_REF = os.path.join(REPO_ROOT, "..", "shared", "reference", "kayenta_vectors.json")

SUITES = {
    "mann_whitney.json": "MannWhitneySuite",
    "classifier.json": "ClassifierSuite",
    "scorer.json": "ScorerSuite",
    "statistic.json": "StatisticSuite",
    "detector.json": "DetectorSuite",
    "transform.json": "TransformSuite",
    "utils.json": "UtilsSuite",
    "query_config_utils_spec.json": "QueryConfigUtilsSpec",
    "query_config_utils_test.json": "QueryConfigUtilsTest",
    "stackdriver_query_config_spec.json": "StackdriverCanaryMetricSetQueryConfigSpec",
    "mixer.json": "MetricSetMixerServiceSpec",
    "metric_set.json": "MetricSetSpec",
    "synchronous_query_processor.json": "SynchronousQueryProcessorTest",
    "prometheus_metrics_service.json": "PrometheusMetricsServiceSpec",
    "prometheus_remote_service.json": "PrometheusRemoteServiceTest",
    "datadog_metrics_service.json": "DatadogMetricsServiceSpec",
    "datadog_time_series.json": "DatadogTimeSeriesTest",
    "setup_and_execute_canaries_stage.json": "SetupAndExecuteCanariesStageTest",
    "generate_canary_analysis_result_task.json": "GenerateCanaryAnalysisResultTaskTest",
    "prometheus_standalone_canary_analysis.json": "PrometheusStandaloneCanaryAnalysisTest",
    "canary_config_controller.json": "CanaryConfigControllerTest",
    "canary_controller.json": "CanaryControllerTest",
}


def main():
    ref = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_REF
    with open(ref, encoding="utf-8") as f:
        entries = json.load(f)
    for filename, suite in SUITES.items():
        selected = [e for e in entries if e["suite"] == suite]
        if not selected:
            sys.exit(f"no entries for suite {suite} in {ref}")
        out = os.path.join(HERE, filename)
        with open(out, "w", encoding="utf-8") as f:
            json.dump(selected, f, indent=1, ensure_ascii=False, allow_nan=False)
            f.write("\n")
        print(f"{filename}: {len(selected)} {suite} entries")


if __name__ == "__main__":
    main()
