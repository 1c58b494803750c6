//! The stage's API calls and their order: find production, clean up or adopt earlier
//! runs' Deployments, create the baseline and canary, wait for them, analyse, delete
//! them, promote.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kanary_judge::CanaryConfig;
use kanary_metrics_sources::scope::iso;
use kanary_metrics_sources::{FetchOptions, MetricsSource};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use tokio::sync::watch;

use super::resources::{
    self, Blueprint, MANAGED_BY, MANAGED_BY_LABEL, RUN_LABEL, Role, Rollout, TARGET_LABEL,
};
use super::{StageError, StagePhase, StageSpec, StageStatus, Verdict, api_error};
use crate::analysis::{
    self, Analysis, AnalysisReport, AnalysisSpec, Clock, DEFAULT_PROGRESS_EVERY, Observer,
    Progress, ScopeSpec,
};

const DEPLOYMENTS: &str = "deployments.apps";
const PODS: &str = "pods";

/// Hears about a stage: its status after every change, and lines worth logging.
pub trait StageObserver: Send + Sync {
    /// The status changed.
    fn status(&self, status: &StageStatus);
    /// Something happened (a phase began, a wait, a judgement, a warning).
    fn line(&self, line: &str);
}

impl StageObserver for () {
    fn status(&self, _status: &StageStatus) {}
    fn line(&self, _line: &str) {}
}

/// Everything a stage needs.
pub struct Stage<'a> {
    /// What to run.
    pub spec: &'a StageSpec,
    /// The canary config; its metric queries select pods by the scopes
    /// `<production>-baseline` and `<production>-canary`.
    pub config: &'a CanaryConfig,
    /// Where the metrics come from.
    pub source: &'a dyn MetricsSource,
    /// The Kubernetes API.
    pub client: kube::Client,
    /// The time source of the analysis.
    pub clock: &'a dyn Clock,
    /// Who hears about progress.
    pub observer: &'a dyn StageObserver,
    /// How fetching runs.
    pub fetch: FetchOptions,
    /// The status so far: a fresh one, or a resumed stage's last (its analysis start is
    /// kept when its Deployments are still there).
    pub status: StageStatus,
    /// Becomes `true` to cancel: the Deployments are deleted and the stage ends
    /// [`StagePhase::Canceled`].
    pub cancel: watch::Receiver<bool>,
}

/// How a stage ended.
#[derive(Debug, Clone)]
pub struct StageOutcome {
    /// The final status ([`StagePhase::Succeeded`], [`StagePhase::Failed`] or
    /// [`StagePhase::Canceled`]).
    pub status: StageStatus,
    /// The analysis, when it ran to a decision.
    pub report: Option<AnalysisReport>,
}

/// Runs the stage to its end. The baseline and canary are deleted on every path that
/// created them: pass, fail, error, cancel.
pub async fn run(stage: Stage<'_>) -> StageOutcome {
    let driver = Driver::new(&stage);
    let mut cancel = stage.cancel.clone();
    let canceled = async move {
        // A dropped sender means nobody can cancel any more: wait forever.
        if cancel.wait_for(|c| *c).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let outcome = tokio::select! {
        outcome = driver.deploy_and_analyse() => outcome,
        () = canceled => Err(StageError::Canceled),
    };
    driver.finish(outcome).await
}

struct Driver<'s, 'a> {
    stage: &'s Stage<'a>,
    spec: &'a StageSpec,
    deployments: Api<Deployment>,
    pods: Api<Pod>,
    status: Mutex<StageStatus>,
    report: Mutex<Option<AnalysisReport>>,
}

impl<'s, 'a> Driver<'s, 'a> {
    fn new(stage: &'s Stage<'a>) -> Self {
        let ns = &stage.spec.namespace;
        let mut status = stage.status.clone();
        status.warnings.clear();
        Driver {
            stage,
            spec: stage.spec,
            deployments: Api::namespaced(stage.client.clone(), ns),
            pods: Api::namespaced(stage.client.clone(), ns),
            status: Mutex::new(status),
            report: Mutex::new(None),
        }
    }

    fn update(&self, change: impl FnOnce(&mut StageStatus)) {
        let snapshot = match self.status.lock() {
            Ok(mut s) => {
                change(&mut s);
                s.clone()
            }
            Err(_) => return,
        };
        self.stage.observer.status(&snapshot);
    }

    fn snapshot(&self) -> StageStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn line(&self, line: &str) {
        tracing::info!(stage = %self.spec.run_id, "{line}");
        self.stage.observer.line(line);
    }

    fn warn(&self, warning: String) {
        tracing::warn!(stage = %self.spec.run_id, "{warning}");
        self.stage.observer.line(&format!("warning: {warning}"));
        self.update(|s| s.warnings.push(warning));
    }

    fn ns(&self) -> &str {
        &self.spec.namespace
    }

    /// Everything up to the verdict; the Deployments stay (see [`Driver::finish`]).
    async fn deploy_and_analyse(&self) -> Result<Verdict, StageError> {
        self.update(|s| {
            s.phase = StagePhase::Deploying;
            s.message = Some("reading the production Deployment".into());
        });
        let production = self
            .deployments
            .get(&self.spec.deployment)
            .await
            .map_err(|e| {
                api_error(
                    "get",
                    DEPLOYMENTS,
                    self.ns(),
                    Some(&self.spec.deployment),
                    e,
                )
            })?;
        let production_image = resources::production_image(&production, &self.spec.container)?;
        self.update(|s| s.production_image = Some(production_image.clone()));
        self.line(&format!(
            "production {}/{} runs {production_image} in container {}; canary image {}",
            self.ns(),
            self.spec.deployment,
            self.spec.container,
            self.spec.image
        ));

        let blueprint = Blueprint {
            production: &production,
            container: &self.spec.container,
            image: &self.spec.image,
            replicas: self.spec.replicas,
            run_id: &self.spec.run_id,
            pod_labels: &self.spec.pod_labels,
        };
        let baseline = resources::build(&blueprint, Role::Baseline)?;
        let canary = resources::build(&blueprint, Role::Canary)?;
        let pod_labels = canary
            .spec
            .template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.clone())
            .unwrap_or_default();
        if resources::selects(&production.spec.selector, &pod_labels) {
            self.warn(format!(
                "production's selector {} also matches the baseline and canary pods (they keep \
                 production's pod labels), so an HPA or PodDisruptionBudget using it counts \
                 them; give production's selector a label the canary pods do not get, e.g. \
                 track: stable with --pod-label track=canary",
                resources::selector_string(
                    &production
                        .spec
                        .selector
                        .match_labels
                        .clone()
                        .unwrap_or_default()
                )
            ));
        }

        let adopted = self.clean_up_earlier_runs().await?;
        for (role, object) in [(Role::Baseline, &baseline), (Role::Canary, &canary)] {
            let name = role.name(&self.spec.deployment);
            if adopted.contains(&name) {
                self.line(&format!("adopting {name} of this run (resumed)"));
                continue;
            }
            self.create(&name, object).await?;
        }

        self.update(|s| s.message = Some("waiting for the baseline and canary".into()));
        let names = [self.spec.baseline_name(), self.spec.canary_name()];
        let selector = format!("{RUN_LABEL}={}", self.spec.run_id);
        self.wait_for_rollouts(&names, &selector, None, self.spec.ready_timeout)
            .await?;
        self.line(&format!(
            "{} and {} are available ({} pod{} each)",
            names[0],
            names[1],
            self.spec.replicas,
            if self.spec.replicas == 1 { "" } else { "s" }
        ));

        // A resumed run whose Deployments were both still there keeps its windows.
        let resumed_start = if adopted.len() == 2 {
            self.snapshot()
                .analysis_start_iso
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&Utc))
        } else {
            None
        };
        let start = resumed_start.unwrap_or_else(|| self.stage.clock.now());
        let verdict = self.analyse(start).await?;
        Ok(verdict)
    }

    /// Deletes earlier runs' Deployments for this production Deployment; returns the
    /// names of this run's own, which are adopted.
    async fn clean_up_earlier_runs(&self) -> Result<Vec<String>, StageError> {
        let selector = format!(
            "{MANAGED_BY_LABEL}={MANAGED_BY},{TARGET_LABEL}={}",
            self.spec.deployment
        );
        let found = self
            .deployments
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| api_error("list", DEPLOYMENTS, self.ns(), None, e))?;
        let mut adopted = Vec::new();
        for d in found.items {
            let name = d.metadata.name.clone().unwrap_or_default();
            let run = d
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(RUN_LABEL))
                .cloned()
                .unwrap_or_default();
            let image = d
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(resources::IMAGE_ANNOTATION))
                .cloned();
            let ours = run == self.spec.run_id
                && (name == self.spec.baseline_name()
                    || (name == self.spec.canary_name()
                        && image.as_deref() == Some(self.spec.image.as_str())));
            if ours {
                adopted.push(name);
            } else {
                self.warn(format!(
                    "deleting {name}, left by run {run} (a run that did not finish)"
                ));
                self.delete(&name).await?;
            }
        }
        Ok(adopted)
    }

    async fn create(&self, name: &str, object: &Deployment) -> Result<(), StageError> {
        match self
            .deployments
            .create(&PostParams::default(), object)
            .await
        {
            Ok(_) => {
                self.line(&format!("created {}/{name}", self.ns()));
                Ok(())
            }
            Err(kube::Error::Api(s)) if s.code == 409 => Err(StageError::Invalid(format!(
                "a Deployment {}/{name} exists and is not kanary's (no {MANAGED_BY_LABEL}={MANAGED_BY} \
                 and {TARGET_LABEL}={} labels); kanary does not replace it: rename or delete it",
                self.ns(),
                self.spec.deployment
            ))),
            Err(e) => Err(api_error("create", DEPLOYMENTS, self.ns(), Some(name), e)),
        }
    }

    /// Deletes a Deployment and (by background propagation) its pods; gone already is
    /// fine.
    async fn delete(&self, name: &str) -> Result<(), StageError> {
        match self
            .deployments
            .delete(name, &DeleteParams::background())
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(api_error("delete", DEPLOYMENTS, self.ns(), Some(name), e)),
        }
    }

    /// Waits until every Deployment in `names` has rolled out, failing fast on a pod that
    /// cannot start. Watches Deployments and pods (list + watch) and reads their state
    /// again on every change. `image`: only pods running it count for failures (production
    /// keeps old pods until the rollout replaces them).
    async fn wait_for_rollouts(
        &self,
        names: &[String],
        pod_selector: &str,
        image: Option<&str>,
        timeout: Duration,
    ) -> Result<(), StageError> {
        let deployment_events = watcher(
            self.deployments.clone(),
            if names.len() == 1 {
                watcher::Config::default().fields(&format!("metadata.name={}", names[0]))
            } else {
                watcher::Config::default().labels(pod_selector)
            },
        )
        .default_backoff()
        .map(|_| ());
        let pod_events = watcher(
            self.pods.clone(),
            watcher::Config::default().labels(pod_selector),
        )
        .default_backoff()
        .map(|_| ());
        let mut events =
            std::pin::pin!(futures_util::stream::select(deployment_events, pod_events));
        let mut last_waiting = String::new();
        let wait = async {
            loop {
                let mut waiting = Vec::new();
                for name in names {
                    let d = self
                        .deployments
                        .get(name)
                        .await
                        .map_err(|e| api_error("get", DEPLOYMENTS, self.ns(), Some(name), e))?;
                    match resources::rollout(&d) {
                        Rollout::Done => {}
                        Rollout::Waiting(why) => waiting.push(why),
                        Rollout::Failed(why) => return Err(StageError::NotReady(why)),
                    }
                }
                if waiting.is_empty() {
                    return Ok(());
                }
                let pods = self
                    .pods
                    .list(&ListParams::default().labels(pod_selector))
                    .await
                    .map_err(|e| api_error("list", PODS, self.ns(), None, e))?;
                let relevant: Vec<Pod> = pods
                    .items
                    .into_iter()
                    .filter(|p| image.is_none_or(|i| runs_image(p, i)))
                    .collect();
                if let Some(failure) = resources::pod_failure(&relevant) {
                    return Err(StageError::NotReady(failure));
                }
                let text = waiting.join("; ");
                if text != last_waiting {
                    self.line(&format!("waiting: {text}"));
                    last_waiting = text;
                }
                if events.next().await.is_none() {
                    return Err(StageError::Api("the watch on the API server ended".into()));
                }
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(result) => result,
            Err(_) => Err(StageError::Timeout(format!(
                "{} not available after {}: {}",
                names.join(" and "),
                human(timeout),
                if last_waiting.is_empty() {
                    "no progress".to_string()
                } else {
                    last_waiting
                }
            ))),
        }
    }

    async fn analyse(&self, start: DateTime<Utc>) -> Result<Verdict, StageError> {
        let spec = AnalysisSpec {
            scopes: vec![ScopeSpec {
                name: self.spec.scope_name.clone(),
                control_scope: self.spec.baseline_name(),
                control_location: self.spec.namespace.clone(),
                control_offset_secs: 0,
                experiment_scope: self.spec.canary_name(),
                experiment_location: self.spec.namespace.clone(),
                extended_scope_params: Default::default(),
            }],
            start: Some(start),
            end: None,
            step_secs: self.spec.step_secs,
            thresholds: self.spec.thresholds,
            lifetime_secs: Some(self.spec.lifetime_secs),
            begin_after_secs: self.spec.begin_after_secs,
            lookback_secs: 0,
            interval_secs: self.spec.interval_secs,
            lifetime_unit_secs: 1,
        };
        let stage_id = self.snapshot().stage_id;
        let analysis_id = if stage_id.is_empty() {
            format!("canary-{}", self.spec.run_id)
        } else {
            stage_id
        };
        self.update(|s| {
            s.phase = StagePhase::Analyzing;
            s.message = Some("analyzing".into());
            s.analysis_id = Some(analysis_id.clone());
            s.analysis_start_iso = Some(iso(&start));
            s.scores.clear();
        });
        let observer = AnalysisObserver { driver: self };
        let analysis = Analysis {
            spec: &spec,
            config: self.stage.config,
            source: self.stage.source,
            clock: self.stage.clock,
            observer: &observer,
            fetch: self.stage.fetch,
            execution_id_prefix: &analysis_id,
            progress_every: DEFAULT_PROGRESS_EVERY,
        };
        let report = analysis::run(&analysis).await?;
        let verdict = if report.result.did_pass_thresholds {
            Verdict::Pass
        } else {
            Verdict::Fail
        };
        let message = report
            .result
            .canary_score_message
            .clone()
            .unwrap_or_default();
        self.update(|s| {
            s.verdict = Some(verdict);
            s.result = Some(report.result.clone());
            s.message = Some(message.clone());
        });
        self.line(&format!(
            "verdict: {} ({message})",
            match verdict {
                Verdict::Pass => "pass",
                Verdict::Fail => "fail",
            }
        ));
        if let Ok(mut r) = self.report.lock() {
            *r = Some(report);
        }
        Ok(verdict)
    }

    /// Deletes both Deployments (every path), promotes on a pass when asked, and writes
    /// the final status.
    async fn finish(&self, outcome: Result<Verdict, StageError>) -> StageOutcome {
        // Cleanup first, whatever happened: a canceled or failed stage must not leave
        // pods taking production traffic.
        // Only what carries this run's labels is deleted: never a same-named Deployment
        // that is not kanary's.
        let mut cleanup_error = None;
        let selector = format!(
            "{MANAGED_BY_LABEL}={MANAGED_BY},{RUN_LABEL}={}",
            self.spec.run_id
        );
        let names = match self
            .deployments
            .list(&ListParams::default().labels(&selector))
            .await
        {
            Ok(list) => list
                .items
                .into_iter()
                .filter_map(|d| d.metadata.name)
                .collect::<Vec<_>>(),
            Err(e) => {
                let e = api_error("list", DEPLOYMENTS, self.ns(), None, e);
                self.warn(format!(
                    "could not look for {} and {} to delete them: {e}",
                    self.spec.baseline_name(),
                    self.spec.canary_name()
                ));
                cleanup_error = Some(e);
                Vec::new()
            }
        };
        for name in names {
            match self.delete(&name).await {
                Ok(()) => self.line(&format!("deleted {}/{name}", self.ns())),
                Err(e) => {
                    self.warn(format!("could not delete {name}: {e}"));
                    cleanup_error.get_or_insert(e);
                }
            }
        }
        let final_result = match outcome {
            Ok(Verdict::Pass) if self.spec.promote => match cleanup_error {
                // Promoting with the canary still serving would be fine for traffic, but
                // a stage that cannot delete cannot be trusted to patch either: say so.
                Some(e) => Err(e),
                None => self.promote().await.map(|()| Verdict::Pass),
            },
            other => other,
        };
        let report = self.report.lock().ok().and_then(|mut r| r.take());
        self.update(|s| match &final_result {
            Ok(Verdict::Pass) => {
                s.phase = StagePhase::Succeeded;
                if s.promoted {
                    s.message = Some(format!(
                        "the canary passed; production runs {}",
                        self.spec.image
                    ));
                } else if s.message.is_none() {
                    s.message = Some("the canary passed".into());
                }
            }
            Ok(Verdict::Fail) => {
                s.phase = StagePhase::Failed;
                s.message = Some(format!(
                    "the canary failed{}; production left untouched",
                    s.message
                        .as_deref()
                        .filter(|m| !m.is_empty())
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                ));
            }
            Err(StageError::Canceled) => {
                s.phase = StagePhase::Canceled;
                s.message = Some(
                    "canceled; the baseline and canary were deleted, production left untouched"
                        .into(),
                );
            }
            Err(e) => {
                s.phase = StagePhase::Failed;
                s.error = Some(e.to_string());
                s.message = Some(format!("{e}"));
            }
        });
        StageOutcome {
            status: self.snapshot(),
            report,
        }
    }

    async fn promote(&self) -> Result<(), StageError> {
        self.update(|s| {
            s.phase = StagePhase::Promoting;
            s.message = Some(format!("setting production's image to {}", self.spec.image));
        });
        // A strategic merge patch: the container list merges by name, so only this
        // container's image changes.
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": self.spec.container, "image": self.spec.image}
        ]}}}});
        let patched = self
            .deployments
            .patch(
                &self.spec.deployment,
                &PatchParams::default(),
                &Patch::Strategic(&patch),
            )
            .await
            .map_err(|e| {
                api_error(
                    "patch",
                    DEPLOYMENTS,
                    self.ns(),
                    Some(&self.spec.deployment),
                    e,
                )
            })?;
        self.line(&format!(
            "patched {}/{} to {}; waiting for its rollout",
            self.ns(),
            self.spec.deployment,
            self.spec.image
        ));
        let selector = resources::selector_string(
            &patched
                .spec
                .selector
                .match_labels
                .clone()
                .unwrap_or_default(),
        );
        self.wait_for_rollouts(
            std::slice::from_ref(&self.spec.deployment),
            &selector,
            Some(&self.spec.image),
            self.spec.rollout_timeout,
        )
        .await?;
        self.update(|s| s.promoted = true);
        self.line(&format!(
            "production {}/{} runs {}",
            self.ns(),
            self.spec.deployment,
            self.spec.image
        ));
        Ok(())
    }
}

/// `analyze`'s durations (`10m`, `1m30s`), and milliseconds below a second (`300ms`).
fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        crate::commands::analyze::human(d)
    }
}

fn runs_image(pod: &Pod, image: &str) -> bool {
    pod.spec.as_ref().is_some_and(|s| {
        s.containers
            .iter()
            .any(|c| c.image.as_deref() == Some(image))
    })
}

/// Turns the analysis's progress into the stage's status and lines.
struct AnalysisObserver<'d, 's, 'a> {
    driver: &'d Driver<'s, 'a>,
}

impl Observer for AnalysisObserver<'_, '_, '_> {
    fn progress(&self, event: &Progress<'_>) {
        match event {
            Progress::Planned { plan } => {
                let n = plan.judgements();
                self.driver.update(|s| {
                    s.intervals = Some(n);
                    s.interval = Some(1);
                });
            }
            Progress::Waiting { window, of, .. } => {
                self.driver.update(|s| {
                    s.interval = Some(window.index);
                    s.intervals = Some(*of);
                    s.message = Some(format!("waiting for interval {}/{of}", window.index));
                });
            }
            Progress::Judged {
                window, of, result, ..
            } => {
                let score = result.score.score;
                self.driver.update(|s| {
                    s.interval = Some(window.index);
                    s.intervals = Some(*of);
                    s.scores.push(score);
                    s.message = Some(format!(
                        "interval {}/{of}: score {}",
                        window.index,
                        analysis::double_to_string(score)
                    ));
                });
            }
            Progress::StoppedEarly { .. } => {}
        }
        self.driver
            .line(&crate::commands::analyze::progress_line(event));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_image_reads_every_container() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:2"}]}
        }))
        .expect("pod");
        assert!(runs_image(&pod, "y:2"));
        assert!(!runs_image(&pod, "y:3"));
    }
}
