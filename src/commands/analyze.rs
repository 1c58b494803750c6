//! `kanary analyze`: Kayenta's standalone canary analysis from the command line, over one
//! metrics store, with the runner of `crate::analysis`.

use crate::analysis::{
    self, Analysis, AnalysisError, AnalysisReport, AnalysisSpec, AnalysisThresholds, IntervalError,
    Observer, Plan, Progress, ScopeSpec, SystemClock,
};
use crate::cli::{AnalyzeArgs, OutputFormat, SourceArgs};
use crate::commands::judge::write_report;
use crate::commands::thresholds;
use crate::report::html::{self, AnalysisPart, HtmlReport};
use crate::report::table::{Align, Cell, Table};
use crate::report::text::{self, TextReport};
use crate::{ExitStatus, Output, input};
use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, Utc};
use kanary_judge::{CanaryConfig, MetricClassification, ScoreThresholds};
use kanary_metrics_sources::datadog::{Datadog, DatadogAccount};
use kanary_metrics_sources::http::ReqwestTransport;
use kanary_metrics_sources::prometheus::{Prometheus, PrometheusAccount, PrometheusAuth};
use kanary_metrics_sources::scope::iso;
use kanary_metrics_sources::stackdriver::{
    self, Stackdriver, StackdriverAccount, StackdriverCredentials,
};
use kanary_metrics_sources::{FetchOptions, HttpClient, MetricsSource, RetryPolicy};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// The environment, read only for the secrets the help names.
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

pub(crate) fn run(args: &AnalyzeArgs, out: &mut Output<'_>) -> anyhow::Result<ExitStatus> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let config_text = input::read_text(&args.config)?;
    let config: CanaryConfig = input::parse_json(&args.config, &config_text)?;
    if config.metrics.is_empty() {
        bail!(
            "{}: $.metrics: The canary config must specify at least one metric. \
             Otherwise we're not analyzing anything. :)",
            args.config.display()
        );
    }
    let judge_thresholds = thresholds::resolve(None, args.pass, args.marginal)?;
    let spec = spec(args, judge_thresholds, Utc::now())?;
    let source = source(&args.source, &env)?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let observer = ProgressLines { tx };
    let analysis = Analysis {
        spec: &spec,
        config: &config,
        source: source.as_ref(),
        clock: &SystemClock,
        observer: &observer,
        fetch: FetchOptions {
            concurrency: usize::from(args.source.concurrency),
        },
        execution_id_prefix: "analyze",
        progress_every: analysis::DEFAULT_PROGRESS_EVERY,
    };
    // The runner reports through a channel (an observer must be Send + Sync, our stderr
    // is not); the lines are written while the analysis runs.
    let outcome = runtime.block_on(async {
        let run = analysis::run(&analysis);
        tokio::pin!(run);
        loop {
            tokio::select! {
                outcome = &mut run => break outcome,
                Some(line) = rx.recv() => {
                    let _ = writeln!(out.stderr, "kanary: {line}");
                }
            }
        }
    });
    while let Ok(line) = rx.try_recv() {
        writeln!(out.stderr, "kanary: {line}")?;
    }
    let report = match outcome {
        Ok(report) => report,
        Err(e) => {
            // Kayenta's result task runs after a failed interval too: in JSON mode the
            // result so far (the failed judgement TERMINAL, its score 0.0) goes to stdout,
            // the error to stderr, and the exit code is still 2.
            if let (Some(path), AnalysisError::Interval { partial, .. }) = (&args.report, &e) {
                // The judgements so far; the failed one has no pairs to draw.
                let html = analysis_report(&config, partial, None, &[], judge_thresholds);
                write_report(path, &html)?;
            }
            if let (OutputFormat::Json, AnalysisError::Interval { partial, .. }) = (args.format, &e)
            {
                serde_json::to_writer_pretty(&mut *out.stdout, partial)
                    .context("cannot write the result")?;
                writeln!(out.stdout)?;
            }
            return Err(explain(e, &args.config));
        }
    };

    if let Some(path) = &args.report {
        let html = analysis_report(
            &config,
            &report.result,
            report.stopped_early_at,
            &report.last_pairs,
            judge_thresholds,
        );
        write_report(path, &html)?;
    }

    match args.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out.stdout, &report.result)
                .context("cannot write the result")?;
            writeln!(out.stdout)?;
        }
        OutputFormat::Text => {
            let summary = summary(&report, &config, judge_thresholds, out.color);
            out.stdout.write_all(summary.as_bytes())?;
        }
    }
    Ok(if report.result.did_pass_thresholds {
        ExitStatus::Success
    } else {
        ExitStatus::Fail
    })
}

/// The HTML report of an analysis: the score per interval, then the last judgement with
/// `pairs` (its series).
pub(crate) fn analysis_report(
    config: &CanaryConfig,
    result: &crate::analysis::CanaryAnalysisExecutionResult,
    stopped_early_at: Option<usize>,
    pairs: &[kanary_judge::MetricSetPair],
    thresholds: ScoreThresholds,
) -> String {
    let last = result
        .canary_execution_results
        .iter()
        .rev()
        .find_map(|e| e.result.as_ref().and_then(|r| r.judge_result.as_ref()));
    html::render(&HtmlReport {
        config,
        result: last,
        pairs,
        thresholds,
        analysis: Some(AnalysisPart {
            result,
            stopped_early_at,
        }),
    })
}

/// One line naming the judgement, and the config for a judge error.
fn explain(e: AnalysisError, config: &Path) -> anyhow::Error {
    match &e {
        AnalysisError::Interval { error, .. } if matches!(**error, IntervalError::Judge(_)) => {
            anyhow!("{}: {e}", config.display())
        }
        _ => anyhow!("{e}"),
    }
}

/// The spec from the flags, in seconds.
fn spec(
    args: &AnalyzeArgs,
    judge_thresholds: ScoreThresholds,
    now: DateTime<Utc>,
) -> anyhow::Result<AnalysisSpec> {
    let start = match args.start.trim() {
        "now" => now,
        text => parse_time("--start", text)?,
    };
    let end = args
        .end
        .as_deref()
        .map(|t| parse_time("--end", t))
        .transpose()?;
    let duration = |flag: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(|v| parse_duration(flag, v))
            .transpose()
    };
    let lifetime = duration("--lifetime", &args.lifetime)?;
    let interval = duration("--interval", &args.interval)?;
    let lookback = duration("--lookback", &args.lookback)?;
    let begin_after = duration("--begin-after", &args.begin_after)?;
    let control_offset = duration("--control-offset", &args.control_offset)?;
    match (end, lifetime) {
        (None, None) => bail!(
            "give --end or --lifetime: Canary StageExecution configuration must include \
             either `endTime` or `lifetimeDuration`."
        ),
        (Some(end), _) if end <= start => {
            bail!("--end {} is not after --start {}", iso(&end), iso(&start))
        }
        (None, Some(0)) => bail!("--lifetime: must be longer than 0s"),
        _ => {}
    }
    let mut params = BTreeMap::new();
    for p in &args.params {
        match p.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                params.insert(key.trim().to_string(), value.to_string());
            }
            _ => {
                bail!("--param '{p}': expected KEY=VALUE, e.g. --param resourceType=k8s_container")
            }
        }
    }
    Ok(AnalysisSpec {
        scopes: vec![ScopeSpec {
            name: args.scope_name.clone(),
            control_scope: args.control_scope.clone(),
            control_location: args.control_location.clone().unwrap_or_default(),
            control_offset_secs: control_offset.unwrap_or(0),
            experiment_scope: args.experiment_scope.clone(),
            experiment_location: args.experiment_location.clone().unwrap_or_default(),
            extended_scope_params: params,
        }],
        start: Some(start),
        end,
        step_secs: args.step,
        thresholds: AnalysisThresholds {
            pass: Some(judge_thresholds.pass),
            marginal: Some(judge_thresholds.marginal),
        },
        lifetime_secs: lifetime,
        begin_after_secs: begin_after.unwrap_or(0),
        lookback_secs: lookback.unwrap_or(0),
        interval_secs: interval,
        lifetime_unit_secs: 1,
    })
}

fn parse_time(flag: &str, text: &str) -> anyhow::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            anyhow!("{flag}: '{text}' is not an RFC 3339 time like 2026-11-30T10:00:00Z: {e}")
        })
}

/// `30s`, `5m`, `1h`, `2d` and combinations in that order (`1h30m`), as seconds.
pub(crate) fn parse_duration(flag: &str, text: &str) -> anyhow::Result<i64> {
    let bad = |why: &str| {
        anyhow!("{flag}: '{text}' is not a duration ({why}); use e.g. 30s, 5m, 1h or 1h30m")
    };
    let t = text.trim();
    if t.is_empty() {
        return Err(bad("it is empty"));
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    let mut last_rank = usize::MAX;
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let (rank, unit) = match c {
            'd' => (3, 86_400),
            'h' => (2, 3_600),
            'm' => (1, 60),
            's' => (0, 1),
            _ => return Err(bad(&format!("unknown unit '{c}'"))),
        };
        if digits.is_empty() {
            return Err(bad(&format!("no number before '{c}'")));
        }
        if rank >= last_rank {
            return Err(bad("units must go from days down to seconds, each once"));
        }
        last_rank = rank;
        let n: i64 = digits.parse().map_err(|_| bad("the number is too large"))?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| bad("it is too long"))?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(bad("a number needs a unit"));
    }
    // Ten years is far beyond any canary and keeps every window computable.
    if total > 10 * 366 * 86_400 {
        return Err(bad("it is too long"));
    }
    Ok(total)
}

/// `1h2m3s`, `5m`, `0s` (a fraction of a second counts as a second).
pub(crate) fn human(d: Duration) -> String {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

fn human_secs(secs: i64) -> String {
    human(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

/// The metrics source the flags name.
pub(crate) fn source(args: &SourceArgs, env: Env<'_>) -> anyhow::Result<Box<dyn MetricsSource>> {
    let policy = RetryPolicy {
        attempts: args.attempts,
        ..RetryPolicy::default()
    };
    let http = || -> anyhow::Result<HttpClient> {
        let transport = ReqwestTransport::new().context("cannot start the HTTP client")?;
        Ok(HttpClient::new(Arc::new(transport), policy))
    };
    let account = |service: &str| {
        args.metrics_account
            .clone()
            .unwrap_or_else(|| service.to_string())
    };
    if let Some(url) = &args.prometheus_url {
        let auth = prometheus_auth(args, env)?;
        let account = PrometheusAccount::new(account("prometheus"), url)
            .map_err(|e| anyhow!("--prometheus-url: {e}"))?
            .with_auth(auth);
        return Ok(Box::new(Prometheus::new(account, http()?)));
    }
    if let Some(url) = &args.datadog_url {
        let (api_key, app_key) = datadog_keys(args, env)?;
        let account = DatadogAccount::new(account("datadog"), url, api_key, app_key)
            .map_err(|e| anyhow!("--datadog-url: {e}"))?;
        return Ok(Box::new(Datadog::new(account, http()?)));
    }
    if let Some(project) = &args.stackdriver_project {
        let credentials = stackdriver_credentials(args, env)?;
        let url = args
            .stackdriver_url
            .as_deref()
            .unwrap_or(stackdriver::DEFAULT_BASE_URL);
        let account = StackdriverAccount::new(account("stackdriver"), url, project, credentials)
            .map_err(|e| anyhow!("--stackdriver-url/--stackdriver-project: {e}"))?;
        return Ok(Box::new(
            Stackdriver::new(account, http()?).map_err(|e| anyhow!("{e}"))?,
        ));
    }
    bail!("no metrics store: give --prometheus-url, --datadog-url or --stackdriver-project")
}

/// A secret file's content, trimmed; the error names the flag and the file, never the
/// content.
fn read_secret(flag: &str, path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow!("{flag} {}: cannot read: {e}", path.display()))?;
    let secret = text.trim().to_string();
    if secret.is_empty() {
        bail!("{flag} {}: the file is empty", path.display());
    }
    Ok(secret)
}

fn prometheus_auth(args: &SourceArgs, env: Env<'_>) -> anyhow::Result<PrometheusAuth> {
    if let Some(path) = &args.prometheus_token_file {
        return Ok(PrometheusAuth::Bearer(read_secret(
            "--prometheus-token-file",
            path,
        )?));
    }
    if let Some(token) = env("KANARY_PROMETHEUS_TOKEN") {
        return Ok(PrometheusAuth::Bearer(token));
    }
    match (
        env("KANARY_PROMETHEUS_USERNAME"),
        env("KANARY_PROMETHEUS_PASSWORD"),
    ) {
        (Some(username), Some(password)) => Ok(PrometheusAuth::Basic { username, password }),
        (None, None) => Ok(PrometheusAuth::None),
        (Some(_), None) => bail!(
            "KANARY_PROMETHEUS_USERNAME is set but KANARY_PROMETHEUS_PASSWORD is not: basic \
             auth needs both"
        ),
        (None, Some(_)) => bail!(
            "KANARY_PROMETHEUS_PASSWORD is set but KANARY_PROMETHEUS_USERNAME is not: basic \
             auth needs both"
        ),
    }
}

/// `(api key, application key)` from `--datadog-key-file` or the environment.
fn datadog_keys(args: &SourceArgs, env: Env<'_>) -> anyhow::Result<(String, String)> {
    if let Some(path) = &args.datadog_key_file {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow!("--datadog-key-file {shown}: cannot read: {e}"))?;
        let (mut api, mut app) = (None, None);
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
                Some(("api_key", v)) if !v.is_empty() => api = Some(v.to_string()),
                Some(("app_key" | "application_key", v)) if !v.is_empty() => {
                    app = Some(v.to_string())
                }
                // The line may hold a key: say where, not what.
                _ => bail!(
                    "--datadog-key-file {shown}: line {}: expected `api_key=KEY` or \
                     `app_key=KEY`",
                    n + 1
                ),
            }
        }
        return match (api, app) {
            (Some(api), Some(app)) => Ok((api, app)),
            (None, _) => bail!("--datadog-key-file {shown}: no `api_key=` line"),
            (_, None) => bail!("--datadog-key-file {shown}: no `app_key=` line"),
        };
    }
    match (env("DD_API_KEY"), env("DD_APP_KEY")) {
        (Some(api), Some(app)) => Ok((api, app)),
        (api, app) => {
            let missing: Vec<&str> = [("DD_API_KEY", api.is_none()), ("DD_APP_KEY", app.is_none())]
                .iter()
                .filter(|(_, m)| *m)
                .map(|(name, _)| *name)
                .collect();
            bail!(
                "Datadog needs an API key and an application key: {} not set; set DD_API_KEY \
                 and DD_APP_KEY, or give --datadog-key-file FILE",
                missing.join(" and ")
            )
        }
    }
}

fn stackdriver_credentials(
    args: &SourceArgs,
    env: Env<'_>,
) -> anyhow::Result<StackdriverCredentials> {
    if let Some(path) = &args.stackdriver_key_file {
        return Ok(StackdriverCredentials::ServiceAccountKey(path.clone()));
    }
    if let Some(path) = &args.stackdriver_token_file {
        return Ok(StackdriverCredentials::BearerToken(read_secret(
            "--stackdriver-token-file",
            path,
        )?));
    }
    if let Some(token) = env("KANARY_STACKDRIVER_TOKEN") {
        return Ok(StackdriverCredentials::BearerToken(token));
    }
    bail!(
        "Cloud Monitoring needs credentials: give --stackdriver-key-file FILE (a \
         service-account key) or --stackdriver-token-file FILE, or set \
         KANARY_STACKDRIVER_TOKEN"
    )
}

/// Progress as lines for stderr, sent through a channel.
struct ProgressLines {
    tx: mpsc::UnboundedSender<String>,
}

impl Observer for ProgressLines {
    fn progress(&self, event: &Progress<'_>) {
        // A closed channel means the command is finishing: nothing to report to.
        let _ = self.tx.send(progress_line(event));
    }
}

/// One line for a runner event (`kanary analyze` and `kanary canary` print them).
pub(crate) fn progress_line(event: &Progress<'_>) -> String {
    match event {
        Progress::Planned { plan } => format!(
            "{} judgement{} of {} windows, {}",
            plan.judgements(),
            if plan.judgements() == 1 { "" } else { "s" },
            if plan.lookback_secs > 0 {
                "sliding"
            } else {
                "growing"
            },
            schedule(plan)
        ),
        Progress::Waiting {
            window,
            of,
            remaining,
        } => format!(
            "judgement {}/{of}: waiting {} for its window {} to end",
            window.index,
            human(*remaining),
            span(window.start, window.end)
        ),
        Progress::Judged {
            window,
            of,
            result,
            warnings,
            next_in,
        } => {
            let mut line = format!(
                "judgement {}/{of} {}: score {} ({}); {}",
                window.index,
                span(window.start, window.end),
                analysis::double_to_string(result.score.score),
                result.score.classification.as_str(),
                counts(result)
            );
            if !warnings.is_empty() {
                line.push_str(&format!("; warning: {}", warnings.join(" ")));
            }
            if let Some(next) = next_in {
                line.push_str(&format!("; next judgement in {}", human(*next)));
            }
            line
        }
        Progress::StoppedEarly {
            window,
            of,
            message,
            ..
        } => format!("judgement {}/{of}: {message} Stopping.", window.index),
    }
}

fn schedule(plan: &Plan) -> String {
    let mut text = format!(
        "every {} over {} from {}",
        human_secs(plan.interval_secs),
        human_secs(plan.lifetime_secs),
        iso(&plan.start)
    );
    if plan.end.is_none() && plan.begin_after_secs > 0 {
        text.push_str(&format!(
            " after a warm-up of {}",
            human_secs(plan.begin_after_secs)
        ));
    }
    text
}

fn span(start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    format!("{} to {}", iso(&start), iso(&end))
}

/// `3 Pass, 1 High, 0 Low, 0 Nodata` over the scored (not muted) metrics.
fn counts(result: &kanary_scoring::CanaryJudgeResult) -> String {
    let (mut pass, mut high, mut low, mut nodata, mut error, mut undecided) = (0, 0, 0, 0, 0, 0);
    for r in result.results.iter().filter(|r| !r.muted) {
        match r.classification {
            MetricClassification::Pass => pass += 1,
            MetricClassification::High => high += 1,
            MetricClassification::Low => low += 1,
            MetricClassification::Nodata | MetricClassification::NodataFailMetric => nodata += 1,
            MetricClassification::Error => error += 1,
            MetricClassification::Inconclusive => undecided += 1,
        }
    }
    let mut text = format!("{pass} Pass, {high} High, {low} Low, {nodata} Nodata");
    if undecided > 0 {
        text.push_str(&format!(", {undecided} Inconclusive"));
    }
    if error > 0 {
        text.push_str(&format!(", {error} Error"));
    }
    text
}

/// The text summary: one row per judgement, the verdict, the last judgement's table.
fn summary(
    report: &AnalysisReport,
    config: &CanaryConfig,
    thresholds: ScoreThresholds,
    color: bool,
) -> String {
    let result = &report.result;
    let plan = &report.plan;
    let mut out = format!(
        "Canary analysis: {} of {} judgement{} ({} windows, {})\n\n",
        result.canary_execution_results.len(),
        plan.judgements(),
        if plan.judgements() == 1 { "" } else { "s" },
        if plan.lookback_secs > 0 {
            "sliding"
        } else {
            "growing"
        },
        schedule(plan)
    );
    let mut table = Table::new(&[
        ("#", Align::Right),
        ("window", Align::Left),
        ("score", Align::Right),
        ("classification", Align::Left),
        ("metrics", Align::Left),
        ("warnings", Align::Left),
    ]);
    for (k, execution) in result.canary_execution_results.iter().enumerate() {
        let judge = execution
            .result
            .as_ref()
            .and_then(|r| r.judge_result.as_ref());
        let window = plan.windows.get(k);
        table.row(vec![
            Cell::plain((k + 1).to_string()),
            Cell::plain(window.map_or_else(String::new, |w| span(w.start, w.end))),
            Cell::plain(
                judge.map_or_else(String::new, |j| analysis::double_to_string(j.score.score)),
            ),
            Cell::plain(
                judge.map_or_else(String::new, |j| j.score.classification.as_str().to_string()),
            ),
            Cell::plain(judge.map_or_else(String::new, counts)),
            Cell::plain(if execution.warnings.is_empty() {
                "-".to_string()
            } else {
                "fewer than 50 data points".to_string()
            }),
        ]);
    }
    out.push_str(&table.render(color));
    out.push('\n');
    if let Some(i) = report.stopped_early_at {
        out.push_str(&format!(
            "Stopped after judgement {i}/{}: {}\n",
            plan.judgements(),
            analysis::EARLY_FAIL_MESSAGE
        ));
    }
    let last = result
        .canary_execution_results
        .last()
        .and_then(|e| e.result.as_ref())
        .and_then(|r| r.judge_result.as_ref());
    if let Some(last) = last {
        out.push_str(&format!(
            "\nLast judgement ({}/{}):\n",
            result.canary_execution_results.len(),
            plan.judgements()
        ));
        out.push_str(&text::render(
            &TextReport {
                result: last,
                config,
                thresholds,
            },
            color,
        ));
    }
    out.push_str(&format!(
        "\nAnalysis {}: {}\n",
        if result.did_pass_thresholds {
            "PASSED"
        } else {
            "FAILED"
        },
        result.canary_score_message.as_deref().unwrap_or_default()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_to_seconds() {
        assert_eq!(parse_duration("--x", "30s").expect("30s"), 30);
        assert_eq!(parse_duration("--x", "5m").expect("5m"), 300);
        assert_eq!(parse_duration("--x", "1h").expect("1h"), 3600);
        assert_eq!(parse_duration("--x", "1h30m").expect("1h30m"), 5400);
        assert_eq!(parse_duration("--x", "2d1s").expect("2d1s"), 172_801);
        assert_eq!(parse_duration("--x", "0s").expect("0s"), 0);
    }

    #[test]
    fn bad_durations_name_the_flag() {
        for (text, why) in [
            ("", "it is empty"),
            ("5", "a number needs a unit"),
            ("5x", "unknown unit 'x'"),
            ("m", "no number before 'm'"),
            (
                "30m1h",
                "units must go from days down to seconds, each once",
            ),
            ("1m1m", "units must go from days down to seconds, each once"),
            ("-5m", "unknown unit '-'"),
            ("99999999999999999999s", "the number is too large"),
            ("100000d", "it is too long"),
        ] {
            let e = parse_duration("--interval", text).expect_err(text);
            assert_eq!(
                e.to_string(),
                format!(
                    "--interval: '{text}' is not a duration ({why}); use e.g. 30s, 5m, 1h or 1h30m"
                )
            );
        }
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::from_secs(0)), "0s");
        assert_eq!(human(Duration::from_secs(3723)), "1h2m3s");
        assert_eq!(human(Duration::from_secs(300)), "5m");
        assert_eq!(human(Duration::from_millis(1500)), "2s");
    }

    /// A report of two judgements of the healthy example, the second stopping the analysis.
    fn report() -> (AnalysisReport, CanaryConfig) {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/examples/healthy");
        let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}")).expect("read");
        let config: CanaryConfig = serde_json::from_str(&read("config.json")).expect("config");
        let pairs: Vec<kanary_judge::MetricSetPair> =
            serde_json::from_str(&read("pairs.json")).expect("pairs");
        let judged = kanary_scoring::judge(&config, &pairs, ScoreThresholds::default(), None)
            .expect("judge");
        let start: DateTime<Utc> = "2026-11-30T10:00:00Z".parse().expect("instant");
        let spec = AnalysisSpec {
            scopes: vec![ScopeSpec::default()],
            start: Some(start),
            step_secs: 60,
            lifetime_secs: Some(3600),
            interval_secs: Some(1200),
            lifetime_unit_secs: 1,
            ..AnalysisSpec::default()
        };
        let plan = Plan::new(&spec, start).expect("plan");
        let execution = analysis::CanaryExecutionResult {
            execution_id: "analyze-1".into(),
            execution_status: "SUCCEEDED".into(),
            exception: None,
            result: Some(analysis::CanaryResult {
                judge_result: Some(judged),
                canary_duration: Some("PT20M".into()),
            }),
            judgement_start_time_iso: None,
            judgement_start_time_millis: None,
            judgement_end_time_iso: None,
            judgement_end_time_millis: None,
            warnings: vec![analysis::FEW_DATA_POINTS_WARNING.into()],
            metric_set_pair_list_id: None,
            build_time_millis: None,
            build_time_iso: None,
            start_time_millis: None,
            start_time_iso: None,
            end_time_millis: None,
            end_time_iso: None,
            storage_account_name: None,
            configuration_account_name: None,
        };
        let result = analysis::CanaryAnalysisExecutionResult {
            did_pass_thresholds: false,
            has_warnings: true,
            canary_score_message: Some(
                "Final canary score 100.0 is not above the marginal score threshold.".into(),
            ),
            canary_scores: vec![100.0, 100.0],
            canary_execution_results: vec![execution.clone(), execution],
            build_time_iso: None,
            start_time_iso: None,
            end_time_iso: None,
        };
        let report = AnalysisReport {
            plan,
            result,
            stopped_early_at: Some(2),
            passed_early_at: None,
            last_pairs: pairs,
        };
        (report, config)
    }

    #[test]
    fn the_summary_lists_every_judgement_then_the_verdict() {
        let (report, config) = report();
        let text = summary(&report, &config, ScoreThresholds::default(), false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "Canary analysis: 2 of 3 judgements (growing windows, every 20m over 1h from \
             2026-11-30T10:00:00Z)"
        );
        let row = lines
            .iter()
            .find(|l| l.trim_start().starts_with("2 "))
            .expect("row 2");
        assert!(
            row.contains("2026-11-30T10:00:00Z to 2026-11-30T10:40:00Z"),
            "{row}"
        );
        assert!(row.contains("100.0") && row.contains("Pass"), "{row}");
        assert!(row.contains("fewer than 50 data points"), "{row}");
        assert!(text.contains(
            "Stopped after judgement 2/3: Canary score is not above the marginal score threshold."
        ));
        assert!(text.contains("Last judgement (2/3):"));
        assert!(text.contains("latency_p50_seconds"), "the per-metric table");
        assert_eq!(
            lines.last().copied(),
            Some(
                "Analysis FAILED: Final canary score 100.0 is not above the marginal score \
                 threshold."
            )
        );
    }

    #[test]
    fn progress_lines() {
        let (report, _) = report();
        let judged = report.result.canary_execution_results[0]
            .result
            .as_ref()
            .and_then(|r| r.judge_result.as_ref())
            .expect("judged");
        let window = &report.plan.windows[0];
        let warnings = vec![analysis::FEW_DATA_POINTS_WARNING.to_string()];
        assert_eq!(
            progress_line(&Progress::Planned { plan: &report.plan }),
            "3 judgements of growing windows, every 20m over 1h from 2026-11-30T10:00:00Z"
        );
        assert_eq!(
            progress_line(&Progress::Waiting {
                window,
                of: 3,
                remaining: Duration::from_secs(270),
            }),
            "judgement 1/3: waiting 4m30s for its window 2026-11-30T10:00:00Z to \
             2026-11-30T10:20:00Z to end"
        );
        let line = progress_line(&Progress::Judged {
            window,
            of: 3,
            result: judged,
            warnings: &warnings,
            next_in: Some(Duration::from_secs(1200)),
        });
        assert!(
            line.starts_with(
                "judgement 1/3 2026-11-30T10:00:00Z to 2026-11-30T10:20:00Z: score 100.0 (Pass); "
            ),
            "{line}"
        );
        assert!(line.ends_with("; next judgement in 20m"), "{line}");
        assert!(line.contains(" Pass, 0 High, 0 Low, 0 Nodata"), "{line}");
    }

    #[test]
    fn datadog_keys_come_from_the_environment_or_say_which_is_missing() {
        use clap::Parser;
        let cli = crate::Cli::try_parse_from([
            "kanary",
            "analyze",
            "--config",
            "c.json",
            "--datadog-url",
            "http://127.0.0.1:1",
            "--control-scope",
            "a",
            "--experiment-scope",
            "b",
            "--start",
            "now",
            "--lifetime",
            "1h",
        ])
        .expect("parse");
        let crate::Command::Analyze(args) = cli.command else {
            panic!("not analyze");
        };
        let both = |name: &str| Some(format!("{name}-value"));
        assert_eq!(
            datadog_keys(&args.source, &both).expect("keys"),
            (
                "DD_API_KEY-value".to_string(),
                "DD_APP_KEY-value".to_string()
            )
        );
        let only_api = |name: &str| (name == "DD_API_KEY").then(|| "k".to_string());
        let e = datadog_keys(&args.source, &only_api).expect_err("app key missing");
        assert!(e.to_string().contains("DD_APP_KEY not set"), "{e}");
        let none = |_: &str| None;
        let e = datadog_keys(&args.source, &none).expect_err("both missing");
        assert!(
            e.to_string().contains("DD_API_KEY and DD_APP_KEY not set"),
            "{e}"
        );
    }
}
