//! `kanary canary`: the Kubernetes canary stage from the command line.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use kanary_judge::{CanaryConfig, ScoreThresholds};
use kanary_metrics_sources::FetchOptions;
use tokio::sync::{mpsc, watch};

use crate::analysis::{AnalysisThresholds, SystemClock, double_to_string};
use crate::cli::{CanaryArgs, OutputFormat};
use crate::commands::analyze::{analysis_report, parse_duration, source};
use crate::commands::judge::write_report;
use crate::commands::thresholds;
use crate::stage::{self, Stage, StageObserver, StagePhase, StageSpec, StageStatus, Verdict};
use crate::{ExitStatus, Output, input};

pub(crate) fn run(args: &CanaryArgs, out: &mut Output<'_>) -> anyhow::Result<ExitStatus> {
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
    let source = source(&args.source, &env)?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let client_config = runtime.block_on(kube_config(args.kubeconfig.as_deref()))?;
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| client_config.default_namespace.clone());
    let spec = spec(args, namespace, judge_thresholds)?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let observer = Lines { tx };
    let (cancel_tx, cancel_rx) = watch::channel(false);

    let outcome = runtime.block_on(async {
        let client = kube::Client::try_from(client_config)
            .map_err(|e| anyhow!("cannot build the Kubernetes client: {e}"))?;
        let run = stage::run(Stage {
            spec: &spec,
            config: &config,
            source: source.as_ref(),
            client,
            clock: &SystemClock,
            observer: &observer,
            fetch: FetchOptions {
                concurrency: usize::from(args.source.concurrency),
            },
            status: StageStatus::new("", &spec),
            cancel: cancel_rx,
        });
        tokio::pin!(run);
        let mut interrupted = std::pin::pin!(interrupted());
        let mut canceling = false;
        loop {
            tokio::select! {
                outcome = &mut run => break Ok::<_, anyhow::Error>(outcome),
                Some(line) = rx.recv() => {
                    let _ = writeln!(out.stderr, "kanary: {line}");
                }
                () = &mut interrupted, if !canceling => {
                    canceling = true;
                    let _ = writeln!(
                        out.stderr,
                        "kanary: interrupted: deleting the baseline and canary (interrupt again to leave them)"
                    );
                    let _ = cancel_tx.send(true);
                }
            }
        }
    })?;
    while let Ok(line) = rx.try_recv() {
        writeln!(out.stderr, "kanary: {line}")?;
    }

    let status = &outcome.status;
    if let (Some(path), Some(report)) = (&args.report, &outcome.report) {
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
            serde_json::to_writer_pretty(&mut *out.stdout, status)
                .context("cannot write the status")?;
            writeln!(out.stdout)?;
        }
        OutputFormat::Text => out.stdout.write_all(summary(status).as_bytes())?,
    }
    match (status.phase, status.verdict) {
        (StagePhase::Succeeded, _) => Ok(ExitStatus::Success),
        (StagePhase::Failed, Some(Verdict::Fail)) if status.error.is_none() => Ok(ExitStatus::Fail),
        _ => Err(anyhow!(
            "{}",
            status
                .error
                .clone()
                .or_else(|| status.message.clone())
                .unwrap_or_else(|| "the stage did not finish".into())
        )),
    }
}

/// The spec from the flags.
fn spec(args: &CanaryArgs, namespace: String, t: ScoreThresholds) -> anyhow::Result<StageSpec> {
    let duration = |flag: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(|v| parse_duration(flag, v))
            .transpose()
    };
    let timeout = |flag: &str, value: &Option<String>, default: Duration| {
        duration(flag, value).map(|secs| {
            secs.map_or(default, |s| {
                Duration::from_secs(u64::try_from(s).unwrap_or(0))
            })
        })
    };
    let mut pod_labels = BTreeMap::new();
    for l in &args.pod_labels {
        match l.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                pod_labels.insert(k.trim().to_string(), v.trim().to_string());
            }
            _ => bail!("--pod-label '{l}': expected KEY=VALUE, e.g. --pod-label track=canary"),
        }
    }
    let run_id = args.run_id.clone().unwrap_or_else(|| {
        // Short enough to read in `kubectl get pods -L kanary.io/run`.
        uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
    });
    let spec = StageSpec {
        namespace,
        deployment: args.deployment.clone(),
        container: args.container.clone(),
        image: args.image.clone(),
        replicas: args.replicas,
        lifetime_secs: parse_duration("--lifetime", &args.lifetime)?,
        interval_secs: duration("--interval", &args.interval)?,
        step_secs: args.step,
        begin_after_secs: duration("--begin-after", &args.begin_after)?.unwrap_or(0),
        thresholds: AnalysisThresholds {
            pass: Some(t.pass),
            marginal: Some(t.marginal),
        },
        promote: args.promote,
        ready_timeout: timeout(
            "--ready-timeout",
            &args.ready_timeout,
            stage::DEFAULT_READY_TIMEOUT,
        )?,
        rollout_timeout: timeout(
            "--rollout-timeout",
            &args.rollout_timeout,
            stage::DEFAULT_ROLLOUT_TIMEOUT,
        )?,
        pod_labels,
        run_id,
        scope_name: args.scope_name.clone(),
    };
    // The spec's messages name JSON fields; the flags are spelled the same in kebab case.
    spec.validate()
        .map_err(|e| anyhow!("--{}", kebab(&e.to_string())))?;
    Ok(spec)
}

/// `podLabels.x: ...` → `pod-labels.x: ...` for a message about a flag.
fn kebab(message: &str) -> String {
    let (field, rest) = message.split_once(':').unwrap_or((message, ""));
    let mut out = String::new();
    for c in field.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    format!("{out}:{rest}")
}

/// `--kubeconfig FILE`, else kube-rs's inference (KUBECONFIG, ~/.kube/config, in-cluster).
async fn kube_config(path: Option<&Path>) -> anyhow::Result<kube::Config> {
    match path {
        Some(path) => kubeconfig_file(path).await,
        None => kube::Config::infer().await.map_err(|e| {
            anyhow!("no Kubernetes configuration found (give --kubeconfig FILE): {e}")
        }),
    }
}

/// The client configuration of a kubeconfig file (its current context); errors name
/// `--kubeconfig` and the file. Shared with `kanary serve`.
pub(crate) async fn kubeconfig_file(path: &Path) -> anyhow::Result<kube::Config> {
    let kubeconfig = kube::config::Kubeconfig::read_from(path)
        .map_err(|e| anyhow!("--kubeconfig {}: {e}", path.display()))?;
    kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .map_err(|e| anyhow!("--kubeconfig {}: {e}", path.display()))
}

/// Ctrl-C or SIGTERM.
async fn interrupted() {
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = term => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The lines for people: what happened, the scores, production.
fn summary(status: &StageStatus) -> String {
    let mut out = String::new();
    let verdict = match (status.phase, status.verdict) {
        (StagePhase::Succeeded, _) => "PASS",
        (StagePhase::Failed, Some(Verdict::Fail)) if status.error.is_none() => "FAIL",
        (StagePhase::Canceled, _) => "CANCELED",
        _ => "ERROR",
    };
    out.push_str(&format!(
        "canary {}/{} with {}: {verdict}\n",
        status.namespace, status.deployment, status.image
    ));
    if !status.scores.is_empty() {
        out.push_str(&format!(
            "scores: {}{}\n",
            status
                .scores
                .iter()
                .map(|s| double_to_string(*s))
                .collect::<Vec<_>>()
                .join(", "),
            match status.intervals {
                Some(n) if n > status.scores.len() =>
                    format!(" (stopped after {} of {n} intervals)", status.scores.len()),
                _ => String::new(),
            }
        ));
    }
    if let Some(m) = &status.message {
        out.push_str(&format!("{m}\n"));
    }
    for w in &status.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out.push_str(&format!(
        "production: {}\n",
        if status.promoted {
            format!("promoted to {}", status.image)
        } else {
            format!(
                "untouched{}",
                status
                    .production_image
                    .as_deref()
                    .map(|i| format!(" ({i})"))
                    .unwrap_or_default()
            )
        }
    ));
    out
}

/// Progress as lines for stderr, sent through a channel.
struct Lines {
    tx: mpsc::UnboundedSender<String>,
}

impl StageObserver for Lines {
    fn status(&self, _status: &StageStatus) {}

    fn line(&self, line: &str) {
        // A closed channel means the command is finishing: nothing to report to.
        let _ = self.tx.send(line.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_names_the_flag() {
        assert_eq!(
            kebab("podLabels.x: 'a b' is not"),
            "pod-labels.x: 'a b' is not"
        );
        assert_eq!(kebab("replicas: 0 is not"), "replicas: 0 is not");
    }

    #[test]
    fn the_summary_says_what_happened_to_production() {
        let mut s = StageStatus {
            namespace: "shop".into(),
            deployment: "web".into(),
            image: "web:B".into(),
            production_image: Some("web:A".into()),
            phase: StagePhase::Failed,
            verdict: Some(Verdict::Fail),
            scores: vec![50.0],
            intervals: Some(6),
            ..StageStatus::default()
        };
        let text = summary(&s);
        assert!(
            text.starts_with("canary shop/web with web:B: FAIL\n"),
            "{text}"
        );
        assert!(
            text.contains("scores: 50.0 (stopped after 1 of 6 intervals)"),
            "{text}"
        );
        assert!(text.ends_with("production: untouched (web:A)\n"), "{text}");
        s.phase = StagePhase::Succeeded;
        s.verdict = Some(Verdict::Pass);
        s.promoted = true;
        assert!(summary(&s).ends_with("production: promoted to web:B\n"));
    }
}
