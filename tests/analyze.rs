//! `kanary analyze`: the interval-analysis runner over an in-memory metrics source and a
//! fake clock, and the binary's flag handling.

use chrono::{DateTime, TimeDelta, Utc};
use kanary::analysis::{
    self, Analysis, AnalysisError, AnalysisReport, AnalysisSpec, AnalysisThresholds, Clock,
    FEW_DATA_POINTS_WARNING, Observer, Progress, ScopeSpec,
};
use kanary_judge::{ALIGNED_ATTRIBUTE, CanaryConfig, CanaryMetricConfig, MetricSet};
use kanary_metrics_sources::http::BoxFuture;
use kanary_metrics_sources::{CanaryScope, FetchOptions, MetricsSource, SourceError, TimeGrid};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn config() -> CanaryConfig {
    let path = root().join("testdata/analyze/config.json");
    let text = std::fs::read_to_string(&path).expect("read the config");
    serde_json::from_str(&text).expect("config")
}

/// `N`: the start of every analysis here.
fn n() -> DateTime<Utc> {
    "2026-11-30T10:00:00Z".parse().expect("instant")
}

fn mins(m: i64) -> TimeDelta {
    TimeDelta::minutes(m)
}

/// A clock whose sleeps return at once and move its time forward.
struct FakeClock {
    now: Mutex<DateTime<Utc>>,
    sleeps: Mutex<Vec<Duration>>,
}

impl FakeClock {
    fn at(now: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(now),
            sleeps: Mutex::new(Vec::new()),
        }
    }

    fn slept(&self) -> Vec<Duration> {
        self.sleeps.lock().expect("lock").clone()
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().expect("lock")
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'_, ()> {
        self.sleeps.lock().expect("lock").push(duration);
        let mut now = self.now.lock().expect("lock");
        *now += TimeDelta::from_std(duration).expect("duration");
        Box::pin(async {})
    }
}

/// One query the source answered.
#[derive(Debug, Clone, PartialEq)]
struct Call {
    metric: String,
    scope: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    /// The clock's time when asked.
    at: DateTime<Utc>,
}

/// Deterministic aligned series: the baseline and the canary share a pattern; from
/// `degrade_from` on, the canary's metrics named in `degraded` are 5 times higher.
struct MemorySource<'a> {
    clock: &'a FakeClock,
    service: &'static str,
    degrade_from: DateTime<Utc>,
    degraded: Vec<&'static str>,
    /// Fail the query whose window ends at this instant.
    fail_at_end: Option<DateTime<Utc>>,
    calls: Mutex<Vec<Call>>,
}

impl<'a> MemorySource<'a> {
    fn new(clock: &'a FakeClock) -> Self {
        Self {
            clock,
            service: "prometheus",
            degrade_from: DateTime::<Utc>::MAX_UTC,
            degraded: Vec::new(),
            fail_at_end: None,
            calls: Mutex::new(Vec::new()),
        }
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("lock").clone()
    }

    /// The distinct experiment windows asked for, in order.
    fn experiment_windows(&self) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let mut windows = Vec::new();
        for c in self.calls() {
            if c.scope == "web-canary" && !windows.contains(&(c.start, c.end)) {
                windows.push((c.start, c.end));
            }
        }
        windows
    }
}

impl MetricsSource for MemorySource<'_> {
    fn service_type(&self) -> &'static str {
        self.service
    }

    fn account(&self) -> &str {
        "memory"
    }

    fn build_query(
        &self,
        _config: &CanaryConfig,
        metric: &CanaryMetricConfig,
        scope: &CanaryScope,
    ) -> Result<String, SourceError> {
        Ok(format!("{}{{scope={}}}", metric.name(), scope.scope))
    }

    fn query_metrics<'b>(
        &'b self,
        _config: &'b CanaryConfig,
        metric: &'b CanaryMetricConfig,
        scope: &'b CanaryScope,
    ) -> BoxFuture<'b, Result<Vec<MetricSet>, SourceError>> {
        Box::pin(async move {
            self.calls.lock().expect("lock").push(Call {
                metric: metric.name().to_string(),
                scope: scope.scope.clone(),
                start: scope.start,
                end: scope.end,
                at: self.clock.now(),
            });
            if self.fail_at_end == Some(scope.end) {
                return Err(SourceError::Unreachable {
                    service: "prometheus",
                    account: "memory".into(),
                    url: "http://127.0.0.1:9/api/v1/query_range".into(),
                    attempts: 1,
                    detail: "connection refused".into(),
                });
            }
            let grid = scope.grid()?;
            let canary = scope.scope == "web-canary";
            let values = (0..grid.len())
                .map(|k| {
                    let t = grid.instant_ms(k);
                    // A repeating pattern, identical for both sides at the same instant.
                    let base = 1.0 + ((t / 60_000) % 7) as f64 * 0.05;
                    let degraded = canary
                        && self.degraded.contains(&metric.name())
                        && t >= self.degrade_from.timestamp_millis();
                    if degraded { base * 5.0 } else { base }
                })
                .collect();
            Ok(vec![metric_set(metric.name(), &grid, values)])
        })
    }
}

fn metric_set(name: &str, grid: &TimeGrid, values: Vec<f64>) -> MetricSet {
    let mut attributes = BTreeMap::new();
    attributes.insert(ALIGNED_ATTRIBUTE.to_string(), "true".to_string());
    MetricSet {
        name: name.to_string(),
        tags: BTreeMap::new(),
        start_time_millis: grid.start_ms(),
        start_time_iso: None,
        end_time_millis: grid.end_ms(),
        end_time_iso: None,
        step_millis: grid.step_ms(),
        values,
        attributes,
    }
}

/// Records every progress report as text.
#[derive(Default)]
struct Events(Mutex<Vec<String>>);

impl Observer for Events {
    fn progress(&self, event: &Progress<'_>) {
        let text = match event {
            Progress::Planned { plan } => format!("planned {}", plan.judgements()),
            Progress::Waiting {
                window, remaining, ..
            } => format!("waiting {} {}s", window.index, remaining.as_secs()),
            Progress::Judged {
                window,
                result,
                next_in,
                ..
            } => format!(
                "judged {} {} next {:?}",
                window.index,
                result.score.score,
                next_in.map(|d| d.as_secs())
            ),
            Progress::StoppedEarly { window, .. } => format!("stopped {}", window.index),
        };
        self.0.lock().expect("lock").push(text);
    }
}

impl Events {
    fn all(&self) -> Vec<String> {
        self.0.lock().expect("lock").clone()
    }
}

fn spec() -> AnalysisSpec {
    AnalysisSpec {
        scopes: vec![ScopeSpec {
            name: "default".into(),
            control_scope: "web-baseline".into(),
            experiment_scope: "web-canary".into(),
            ..ScopeSpec::default()
        }],
        start: Some(n()),
        end: None,
        step_secs: 60,
        thresholds: AnalysisThresholds {
            pass: Some(95.0),
            marginal: Some(75.0),
        },
        lifetime_secs: None,
        begin_after_secs: 0,
        lookback_secs: 0,
        interval_secs: None,
        lifetime_unit_secs: 1,
    }
}

fn run(
    spec: &AnalysisSpec,
    source: &MemorySource<'_>,
    observer: &dyn Observer,
) -> Result<AnalysisReport, AnalysisError> {
    let config = config();
    let analysis = Analysis {
        spec,
        config: &config,
        source,
        clock: source.clock,
        observer,
        fetch: FetchOptions { concurrency: 2 },
        execution_id_prefix: "test",
        progress_every: Duration::from_secs(20),
    };
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(analysis::run(&analysis))
}

#[test]
fn past_windows_with_an_end_are_judged_at_once_on_kayentas_windows() {
    // Kayenta's "start and end supplied" case: N − 5 min to N + 20 min at 3 minutes;
    // here the whole window lies an hour in the past.
    let clock = FakeClock::at(n() + mins(60));
    let source = MemorySource::new(&clock);
    let mut s = spec();
    s.start = Some(n() - mins(5));
    s.end = Some(n() + mins(20));
    s.interval_secs = Some(180);
    s.begin_after_secs = 240; // moves no window when there is an end
    let report = run(&s, &source, &()).expect("analysis");

    let expected: Vec<_> = (1..=8)
        .map(|i| (n() - mins(5), n() - mins(5) + mins(3 * i)))
        .collect();
    assert_eq!(source.experiment_windows(), expected);
    // Both sides of both metrics for each window, nothing more.
    assert_eq!(source.calls().len(), 8 * 4);
    assert!(
        clock.slept().is_empty(),
        "nothing waits: {:?}",
        clock.slept()
    );
    assert_eq!(report.result.canary_scores, vec![100.0; 8]);
    assert!(report.result.did_pass_thresholds);
    assert_eq!(
        report.result.canary_score_message.as_deref(),
        Some("Final canary score 100.0 met or exceeded the pass score threshold.")
    );
    assert_eq!(report.stopped_early_at, None);
}

#[test]
fn a_score_at_or_below_marginal_stops_further_fetches() {
    let clock = FakeClock::at(n() + mins(120));
    let mut source = MemorySource::new(&clock);
    // Latency (weight 90) degrades in the second (sliding) window: score 10.
    source.degraded = vec!["latency"];
    source.degrade_from = n() + mins(20);
    let mut s = spec();
    s.lifetime_secs = Some(3600);
    s.interval_secs = Some(1200);
    s.lookback_secs = 1200;
    let events = Events::default();
    let report = run(&s, &source, &events).expect("analysis");

    assert_eq!(report.result.canary_scores, vec![100.0, 10.0]);
    assert_eq!(report.stopped_early_at, Some(2));
    assert_eq!(
        source.experiment_windows(),
        vec![(n(), n() + mins(20)), (n() + mins(20), n() + mins(40))],
        "the third window is never fetched"
    );
    assert!(!report.result.did_pass_thresholds);
    assert_eq!(
        report.result.canary_score_message.as_deref(),
        Some("Final canary score 10.0 is not above the marginal score threshold.")
    );
    let statuses: Vec<&str> = report
        .result
        .canary_execution_results
        .iter()
        .map(|e| e.execution_status.as_str())
        .collect();
    assert_eq!(statuses, ["SUCCEEDED", "SUCCEEDED"]);
    assert_eq!(
        events.all(),
        [
            "planned 3",
            "judged 1 100 next Some(0)",
            "judged 2 10 next None",
            "stopped 2",
        ]
    );
}

#[test]
fn a_last_score_between_marginal_and_pass_fails_without_stopping() {
    let clock = FakeClock::at(n() + mins(120));
    let mut source = MemorySource::new(&clock);
    // Errors (weight 10) degrade from the start: every window scores 90.
    source.degraded = vec!["errors"];
    source.degrade_from = n();
    let mut s = spec();
    s.lifetime_secs = Some(3600);
    s.interval_secs = Some(1200);
    let report = run(&s, &source, &()).expect("analysis");
    assert_eq!(report.result.canary_scores, vec![90.0, 90.0, 90.0]);
    assert_eq!(report.stopped_early_at, None);
    assert!(!report.result.did_pass_thresholds);
    assert_eq!(
        report.result.canary_score_message.as_deref(),
        Some("Final canary score 90.0 is below the pass score threshold.")
    );
}

#[test]
fn growing_and_sliding_windows() {
    let clock = FakeClock::at(n() + mins(120));
    let source = MemorySource::new(&clock);
    let mut s = spec();
    s.lifetime_secs = Some(3600);
    s.interval_secs = Some(1200);
    run(&s, &source, &()).expect("growing");
    assert_eq!(
        source.experiment_windows(),
        vec![
            (n(), n() + mins(20)),
            (n(), n() + mins(40)),
            (n(), n() + mins(60))
        ]
    );

    let source = MemorySource::new(&clock);
    s.lookback_secs = 900;
    run(&s, &source, &()).expect("sliding");
    assert_eq!(
        source.experiment_windows(),
        vec![
            (n() + mins(5), n() + mins(20)),
            (n() + mins(25), n() + mins(40)),
            (n() + mins(45), n() + mins(60))
        ]
    );
}

#[test]
fn warm_up_shifts_windows_only_without_an_end_and_the_control_offset_moves_the_baseline() {
    let clock = FakeClock::at(n() + mins(120));
    let source = MemorySource::new(&clock);
    let mut s = spec();
    s.lifetime_secs = Some(1200);
    s.interval_secs = Some(600);
    s.begin_after_secs = 120;
    s.scopes[0].control_offset_secs = 3600;
    run(&s, &source, &()).expect("analysis");
    assert_eq!(
        source.experiment_windows(),
        vec![
            (n() + mins(2), n() + mins(12)),
            (n() + mins(2), n() + mins(22))
        ]
    );
    let baseline: Vec<_> = source
        .calls()
        .into_iter()
        .filter(|c| c.scope == "web-baseline" && c.metric == "latency")
        .map(|c| (c.start, c.end))
        .collect();
    assert_eq!(
        baseline,
        vec![
            (n() - mins(58), n() - mins(48)),
            (n() - mins(58), n() - mins(38))
        ]
    );
}

#[test]
fn a_live_window_is_judged_when_it_ends_on_the_clock() {
    // Started 30 s ago, no end: windows end at N+1m, N+2m, N+3m, still to come.
    let clock = FakeClock::at(n() + TimeDelta::seconds(30));
    let source = MemorySource::new(&clock);
    let mut s = spec();
    s.lifetime_secs = Some(180);
    s.interval_secs = Some(60);
    let events = Events::default();
    let report = run(&s, &source, &events).expect("analysis");

    for c in source.calls() {
        assert_eq!(c.at, c.end, "{c:?} is fetched exactly when its window ends");
    }
    assert_eq!(source.experiment_windows().len(), 3);
    // 30 s in chunks of at most 20 s, then a minute per window.
    let slept: Vec<u64> = clock.slept().iter().map(Duration::as_secs).collect();
    assert_eq!(slept, [20, 10, 20, 20, 20, 20, 20, 20]);
    assert_eq!(clock.now(), n() + mins(3));
    assert_eq!(
        events.all(),
        [
            "planned 3",
            "waiting 1 30s",
            "waiting 1 10s",
            "judged 1 100 next Some(60)",
            "waiting 2 60s",
            "waiting 2 40s",
            "waiting 2 20s",
            "judged 2 100 next Some(60)",
            "waiting 3 60s",
            "waiting 3 40s",
            "waiting 3 20s",
            "judged 3 100 next None",
        ]
    );
    assert!(report.result.did_pass_thresholds);
}

#[test]
fn a_fetch_error_ends_the_analysis_with_the_partial_result() {
    let clock = FakeClock::at(n() + mins(120));
    let mut source = MemorySource::new(&clock);
    source.fail_at_end = Some(n() + mins(40));
    let mut s = spec();
    s.lifetime_secs = Some(3600);
    s.interval_secs = Some(1200);
    let e = run(&s, &source, &()).expect_err("the second window fails");
    assert_eq!(
        e.to_string(),
        "judgement 2/3 (2026-11-30T10:00:00Z to 2026-11-30T10:40:00Z): prometheus account \
         'memory' at http://127.0.0.1:9/api/v1/query_range is unreachable after 1 attempt(s): \
         connection refused"
    );
    let AnalysisError::Interval { index, partial, .. } = e else {
        panic!("not an interval error");
    };
    assert_eq!(index, 2);
    assert_eq!(partial.canary_scores, vec![100.0, 0.0]);
    assert!(!partial.did_pass_thresholds);
    let failed = &partial.canary_execution_results[1];
    assert_eq!(failed.execution_status, "TERMINAL");
    assert!(failed.result.is_none());
    assert_eq!(
        failed.exception.as_ref().expect("exception")["details"]["errors"][0]
            .as_str()
            .expect("text"),
        "prometheus account 'memory' at http://127.0.0.1:9/api/v1/query_range is unreachable \
         after 1 attempt(s): connection refused"
    );
    assert!(
        source.calls().iter().all(|c| c.end <= n() + mins(40)),
        "nothing is fetched after the failure"
    );
}

#[test]
fn result_json_is_kayentas_canary_analysis_execution_result() {
    let clock = FakeClock::at(n() + mins(120));
    let source = MemorySource::new(&clock);
    let mut s = spec();
    s.lifetime_secs = Some(2400);
    s.interval_secs = Some(1200);
    s.scopes[0].control_offset_secs = 60;
    let report = run(&s, &source, &()).expect("analysis");
    let json: Value = serde_json::to_value(&report.result).expect("json");

    assert_eq!(json["didPassThresholds"], true);
    // 21 points per window: Kayenta's warning.
    assert_eq!(json["hasWarnings"], true);
    assert_eq!(json["canaryScores"], serde_json::json!([100.0, 100.0]));
    let first = &json["canaryExecutionResults"][0];
    assert_eq!(first["executionId"], "test-1");
    assert_eq!(first["executionStatus"], "SUCCEEDED");
    assert_eq!(first["warnings"][0], FEW_DATA_POINTS_WARNING);
    // The control window (one minute earlier), as RunCanaryTask records it.
    assert_eq!(first["judgementStartTimeIso"], "2026-11-30T09:59:00Z");
    assert_eq!(
        first["judgementStartTimeMillis"],
        (n() - mins(1)).timestamp_millis()
    );
    assert_eq!(first["judgementEndTimeIso"], "2026-11-30T10:19:00Z");
    assert_eq!(first["result"]["canaryDuration"], "PT20M");
    let judge = &first["result"]["judgeResult"];
    assert_eq!(judge["judgeName"], "NetflixACAJudge-v1.0");
    assert_eq!(judge["score"]["score"], 100.0);
    assert_eq!(judge["results"][0]["controlMetadata"]["stats"]["count"], 21);
    assert_eq!(
        json["canaryExecutionResults"][1]["result"]["canaryDuration"],
        "PT40M"
    );
    // Nulls are omitted.
    assert!(first.get("exception").is_none());
    assert!(first.get("metricSetPairListId").is_none());
    assert_eq!(json["startTimeIso"], "2026-11-30T12:00:00Z");

    // Datadog returns a fixed number of points whatever the window: no warning.
    let mut datadog = MemorySource::new(&clock);
    datadog.service = "datadog";
    let report = run(&s, &datadog, &()).expect("analysis");
    assert!(!report.result.has_warnings);
    assert!(
        report.result.canary_execution_results[0]
            .warnings
            .is_empty()
    );
}

// --- The binary ---

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn kanary(args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_kanary"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("DD_API_KEY")
        .env_remove("DD_APP_KEY")
        .env_remove("KANARY_PROMETHEUS_TOKEN")
        .env_remove("KANARY_PROMETHEUS_USERNAME")
        .env_remove("KANARY_PROMETHEUS_PASSWORD")
        .output()
        .expect("run kanary");
    Out {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8(out.stdout).expect("utf-8"),
        stderr: String::from_utf8(out.stderr).expect("utf-8"),
    }
}

const BASE: [&str; 9] = [
    "analyze",
    "--config",
    "testdata/analyze/config.json",
    "--prometheus-url",
    "http://127.0.0.1:9",
    "--control-scope",
    "web-baseline",
    "--experiment-scope",
    "web-canary",
];

fn analyze(extra: &[&str]) -> Out {
    let mut args: Vec<&str> = BASE.to_vec();
    args.extend_from_slice(extra);
    kanary(&args)
}

/// The one line an unusable command line prints.
fn error_line(out: &Out) -> String {
    assert_eq!(
        out.code, 2,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    lines[0].to_string()
}

#[test]
fn cli_bad_durations_name_the_flag() {
    let out = analyze(&[
        "--start",
        "2026-11-30T10:00:00Z",
        "--lifetime",
        "1h",
        "--interval",
        "5x",
    ]);
    assert_eq!(
        error_line(&out),
        "kanary: --interval: '5x' is not a duration (unknown unit 'x'); use e.g. 30s, 5m, 1h or 1h30m"
    );
    let out = analyze(&["--start", "2026-11-30T10:00:00Z", "--lifetime", "90"]);
    assert_eq!(
        error_line(&out),
        "kanary: --lifetime: '90' is not a duration (a number needs a unit); use e.g. 30s, 5m, 1h or 1h30m"
    );
    let out = analyze(&["--start", "2026-11-30T10:00:00Z", "--lifetime", "0s"]);
    assert_eq!(
        error_line(&out),
        "kanary: --lifetime: must be longer than 0s"
    );
}

#[test]
fn cli_needs_an_end_or_a_lifetime() {
    let out = analyze(&["--start", "2026-11-30T10:00:00Z"]);
    assert_eq!(
        error_line(&out),
        "kanary: give --end or --lifetime: Canary StageExecution configuration must include \
         either `endTime` or `lifetimeDuration`."
    );
}

#[test]
fn cli_bad_times_name_the_flag() {
    let out = analyze(&["--start", "yesterday", "--lifetime", "1h"]);
    let line = error_line(&out);
    assert!(
        line.starts_with(
            "kanary: --start: 'yesterday' is not an RFC 3339 time like 2026-11-30T10:00:00Z"
        ),
        "{line}"
    );
    let out = analyze(&[
        "--start",
        "2026-11-30T10:00:00Z",
        "--end",
        "2026-11-30T09:00:00Z",
    ]);
    assert_eq!(
        error_line(&out),
        "kanary: --end 2026-11-30T09:00:00Z is not after --start 2026-11-30T10:00:00Z"
    );
    let out = analyze(&[
        "--start",
        "2026-11-30T10:00:00Z",
        "--lifetime",
        "1h",
        "--param",
        "novalue",
    ]);
    assert_eq!(
        error_line(&out),
        "kanary: --param 'novalue': expected KEY=VALUE, e.g. --param resourceType=k8s_container"
    );
}

#[test]
fn cli_unknown_flags_are_usage_errors() {
    let out = analyze(&["--start", "now", "--lifetime", "1h", "--frobnicate"]);
    assert_eq!(out.code, 2);
    let first = out.stderr.lines().next().unwrap_or_default();
    assert!(first.contains("--frobnicate"), "{}", out.stderr);
}

#[test]
fn cli_datadog_without_keys_names_dd_api_key() {
    let out = kanary(&[
        "analyze",
        "--config",
        "testdata/analyze/config.json",
        "--datadog-url",
        "http://127.0.0.1:9",
        "--control-scope",
        "a",
        "--experiment-scope",
        "b",
        "--start",
        "2026-11-30T10:00:00Z",
        "--lifetime",
        "1h",
    ]);
    let line = error_line(&out);
    assert!(line.contains("DD_API_KEY"), "{line}");
    assert_eq!(
        line,
        "kanary: Datadog needs an API key and an application key: DD_API_KEY and DD_APP_KEY \
         not set; set DD_API_KEY and DD_APP_KEY, or give --datadog-key-file FILE"
    );
}

#[test]
fn cli_datadog_key_file_errors_never_show_the_content() {
    let dir = std::env::temp_dir().join(format!("kanary-analyze-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("keys");
    std::fs::write(&file, "api_key=abc\nsecret-looking-line\n").expect("write");
    let out = kanary(&[
        "analyze",
        "--config",
        "testdata/analyze/config.json",
        "--datadog-url",
        "http://127.0.0.1:9",
        "--datadog-key-file",
        file.to_str().expect("utf-8 path"),
        "--control-scope",
        "a",
        "--experiment-scope",
        "b",
        "--start",
        "now",
        "--lifetime",
        "1h",
    ]);
    let line = error_line(&out);
    assert!(
        line.ends_with("line 2: expected `api_key=KEY` or `app_key=KEY`"),
        "{line}"
    );
    assert!(
        !line.contains("secret-looking-line") && !line.contains("abc"),
        "{line}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cli_help_explains_the_timing_rules() {
    let out = kanary(&["analyze", "--help"]);
    assert_eq!(out.code, 0);
    for needle in [
        "--lifetime",
        "--begin-after",
        "--lookback",
        "lifetime / interval, rounded down",
        "DD_API_KEY",
        "KANARY_PROMETHEUS_TOKEN",
        "KANARY_STACKDRIVER_TOKEN",
        "Exit status",
    ] {
        assert!(out.stdout.contains(needle), "--help lacks {needle}");
    }
}

#[test]
fn cli_unreachable_prometheus_names_the_account_and_url() {
    // A port nothing listens on: bind, read it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let out = kanary(&[
        "analyze",
        "--config",
        "testdata/analyze/config.json",
        "--prometheus-url",
        &url,
        "--control-scope",
        "web-baseline",
        "--experiment-scope",
        "web-canary",
        "--start",
        "2026-11-30T10:00:00Z",
        "--lifetime",
        "10m",
        "--attempts",
        "1",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let last = out.stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("kanary: judgement 1/1 "), "{last}");
    assert!(last.contains("'prometheus'"), "{last}");
    assert!(last.contains(&url), "{last}");
}

#[test]
fn cli_json_prints_the_partial_result_when_an_interval_fails() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let out = kanary(&[
        "analyze",
        "--config",
        "testdata/analyze/config.json",
        "--prometheus-url",
        &url,
        "--control-scope",
        "web-baseline",
        "--experiment-scope",
        "web-canary",
        "--start",
        "2026-11-30T10:00:00Z",
        "--lifetime",
        "10m",
        "--attempts",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let result: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON on stdout");
    assert_eq!(result["didPassThresholds"], false);
    assert_eq!(result["canaryScores"], serde_json::json!([0.0]));
    let execution = &result["canaryExecutionResults"][0];
    assert_eq!(execution["executionStatus"], "TERMINAL");
    let error = execution["exception"]["details"]["errors"][0]
        .as_str()
        .unwrap_or_default();
    assert!(error.contains(&url), "{error}");
}

#[test]
fn cli_a_window_too_wide_for_prometheus_is_refused_before_any_wait() {
    // Six hours at one second grow past Prometheus's 11,001 points at the 4th judgement;
    // the analysis starts now, so without the preflight it would fail hours from now.
    let out = kanary(&[
        "analyze",
        "--config",
        "testdata/analyze/config.json",
        "--prometheus-url",
        "http://127.0.0.1:9",
        "--control-scope",
        "web-baseline",
        "--experiment-scope",
        "web-canary",
        "--start",
        "now",
        "--lifetime",
        "6h",
        "--interval",
        "1h",
        "--step",
        "1",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let line = error_line(&out);
    assert!(line.contains("judgement 6 covers"), "{line}");
    assert!(
        line.contains("21601 points per series at a step of 1 s"),
        "{line}"
    );
    assert!(line.contains("prometheus returns at most 11001"), "{line}");
}
