//! The Kubernetes canary stage against the in-process fake API server
//! (`tests/support/fake_kube`): pass → promote; fail → production untouched; never ready →
//! timeout; a pod that cannot start → its reason; a crash in the middle → the rerun
//! cleans up; cancel; 403 → the missing permission; a resumed run adopts its Deployments.
//! The metrics come from an in-memory source and the analysis runs on a fake clock.

#[path = "support/clock.rs"]
mod clock;
#[path = "support/fake_kube/mod.rs"]
mod fake_kube;
#[path = "support/stage_fixtures.rs"]
mod stage_fixtures;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use clock::FakeClock;
use fake_kube::{Behaviour, FakeKube};
use kanary::analysis::AnalysisThresholds;
use kanary::stage::{self, Stage, StageObserver, StagePhase, StageSpec, StageStatus, Verdict};
use kanary_metrics_sources::FetchOptions;
use serde_json::{Value, json};
use stage_fixtures::{IMAGE_A, IMAGE_B, NS, Source, config, production};
use tokio::sync::watch;

fn spec(run_id: &str) -> StageSpec {
    StageSpec {
        namespace: NS.into(),
        deployment: "web".into(),
        container: "app".into(),
        image: IMAGE_B.into(),
        replicas: 1,
        lifetime_secs: 3600,
        interval_secs: Some(1200),
        step_secs: 60,
        begin_after_secs: 0,
        thresholds: AnalysisThresholds {
            pass: Some(95.0),
            marginal: Some(75.0),
        },
        promote: true,
        ready_timeout: Duration::from_secs(30),
        rollout_timeout: Duration::from_secs(30),
        pod_labels: BTreeMap::new(),
        run_id: run_id.into(),
        scope_name: "default".into(),
    }
}

/// Records every status and line.
#[derive(Default)]
struct Record {
    phases: Mutex<Vec<StagePhase>>,
    lines: Mutex<Vec<String>>,
}

impl StageObserver for Record {
    fn status(&self, status: &StageStatus) {
        let mut phases = self.phases.lock().expect("lock");
        if phases.last() != Some(&status.phase) {
            phases.push(status.phase);
        }
    }

    fn line(&self, line: &str) {
        self.lines.lock().expect("lock").push(line.to_string());
    }
}

struct Run<'a> {
    fake: &'a FakeKube,
    spec: StageSpec,
    source: &'a Source,
    status: Option<StageStatus>,
}

impl<'a> Run<'a> {
    fn new(fake: &'a FakeKube, spec: StageSpec, source: &'a Source) -> Self {
        Self {
            fake,
            spec,
            source,
            status: None,
        }
    }

    async fn go(self, record: &Record) -> stage::StageOutcome {
        let (_cancel_tx, cancel_rx) = watch::channel(false);
        self.go_with(record, cancel_rx).await
    }

    async fn go_with(self, record: &Record, cancel: watch::Receiver<bool>) -> stage::StageOutcome {
        let client = kube::Client::try_from(self.fake.config()).expect("client");
        let config = config();
        let clock = FakeClock::at("2026-11-30T10:00:00Z".parse().expect("instant"));
        let status = self
            .status
            .clone()
            .unwrap_or_else(|| StageStatus::new("", &self.spec));
        stage::run(Stage {
            spec: &self.spec,
            config: &config,
            source: self.source,
            client,
            clock: &clock,
            observer: record,
            fetch: FetchOptions::default(),
            status,
            cancel,
        })
        .await
    }
}

fn image_of(fake: &FakeKube, name: &str, container: &str) -> Option<String> {
    let d = fake.get("Deployment", NS, name)?;
    d.pointer("/spec/template/spec/containers")?
        .as_array()?
        .iter()
        .find(|c| c["name"] == container)?
        .get("image")?
        .as_str()
        .map(str::to_string)
}

fn kanary_deployments(fake: &FakeKube) -> Vec<String> {
    fake.list("Deployment", NS)
        .iter()
        .filter_map(|d| d.pointer("/metadata/name").and_then(Value::as_str))
        .filter(|n| *n != "web")
        .map(str::to_string)
        .collect()
}

fn kanary_pods(fake: &FakeKube) -> usize {
    fake.list("Pod", NS)
        .iter()
        .filter(|p| p.pointer("/metadata/labels/kanary.io~1run").is_some())
        .count()
}

fn patches_of_production(fake: &FakeKube) -> Vec<Option<String>> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == "PATCH" && r.path.ends_with("/deployments/web"))
        .map(|r| r.content_type)
        .collect()
}

#[tokio::test]
async fn a_passing_canary_is_promoted_and_both_are_deleted() {
    let fake = FakeKube::start();
    fake.insert(production());
    let source = Source::new(false);
    let record = Record::default();
    let outcome = Run::new(&fake, spec("pass-1"), &source).go(&record).await;
    let s = &outcome.status;
    assert_eq!(s.phase, StagePhase::Succeeded, "{s:?}");
    assert_eq!(s.verdict, Some(Verdict::Pass));
    assert!(s.promoted);
    assert_eq!(s.scores, vec![100.0, 100.0, 100.0]);
    assert_eq!(s.production_image.as_deref(), Some(IMAGE_A));
    assert_eq!(
        *record.phases.lock().expect("lock"),
        vec![
            StagePhase::Deploying,
            StagePhase::Analyzing,
            StagePhase::Promoting,
            StagePhase::Succeeded
        ]
    );
    // Production runs B in `app`, the other container untouched; the rollout finished.
    assert_eq!(image_of(&fake, "web", "app").as_deref(), Some(IMAGE_B));
    assert_eq!(
        image_of(&fake, "web", "proxy").as_deref(),
        Some("envoy:1.30")
    );
    let web = fake.get("Deployment", NS, "web").expect("production");
    assert_eq!(web["status"]["updatedReplicas"], 3);
    // One strategic merge patch.
    assert_eq!(
        patches_of_production(&fake),
        vec![Some("application/strategic-merge-patch+json".to_string())]
    );
    assert!(kanary_deployments(&fake).is_empty());
    assert_eq!(kanary_pods(&fake), 0);
    // The analysis compared the two by name, in the namespace.
    let scopes = source.scopes.lock().expect("lock").clone();
    assert!(scopes.contains(&("web-baseline".into(), NS.into())));
    assert!(scopes.contains(&("web-canary".into(), NS.into())));
    assert!(!scopes.iter().any(|(s, _)| s == "web"));
    // Production's selector `app: web` matches the canary pods: the warning says so.
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("production's selector app=web also matches")),
        "{:?}",
        s.warnings
    );
}

#[tokio::test]
async fn baseline_and_canary_are_built_as_the_issue_says() {
    // Stop the run inside the analysis (the source hangs) and look at the Deployments.
    let fake = FakeKube::start();
    fake.insert(production());
    let mut source = Source::new(false);
    source.hang = true;
    let record = Record::default();
    let run = Run::new(&fake, spec("look-1"), &source).go(&record);
    tokio::select! {
        _ = run => panic!("the run should hang in the analysis"),
        () = source.entered.notified() => {}
    }
    let canary = fake.get("Deployment", NS, "web-canary").expect("canary");
    let baseline = fake
        .get("Deployment", NS, "web-baseline")
        .expect("baseline");
    assert_eq!(
        image_of(&fake, "web-canary", "app").as_deref(),
        Some(IMAGE_B)
    );
    assert_eq!(
        image_of(&fake, "web-baseline", "app").as_deref(),
        Some(IMAGE_A)
    );
    assert_eq!(canary["spec"]["replicas"], 1);
    assert_eq!(
        canary["spec"]["template"]["metadata"]["labels"],
        json!({"app": "web", "kanary.io/role": "canary", "kanary.io/run": "look-1"})
    );
    assert_eq!(
        baseline["spec"]["selector"]["matchLabels"],
        json!({"app": "web", "kanary.io/role": "baseline", "kanary.io/run": "look-1"})
    );
    assert_eq!(
        canary["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "kanary"
    );
    assert_eq!(canary["metadata"]["labels"]["kanary.io/target"], "web");
    // Production's pods were not adopted: still 3, none with kanary labels.
    let production_pods = fake
        .list("Pod", NS)
        .into_iter()
        .filter(|p| p.pointer("/metadata/labels/kanary.io~1run").is_none())
        .count();
    assert_eq!(production_pods, 3);
    assert_eq!(kanary_pods(&fake), 2);
}

#[tokio::test]
async fn a_failing_canary_leaves_production_untouched() {
    let fake = FakeKube::start();
    fake.insert(production());
    let source = Source::new(true);
    let record = Record::default();
    let outcome = Run::new(&fake, spec("fail-1"), &source).go(&record).await;
    let s = &outcome.status;
    assert_eq!(s.phase, StagePhase::Failed);
    assert_eq!(s.verdict, Some(Verdict::Fail));
    assert_eq!(s.error, None);
    assert!(!s.promoted);
    // Stopped early at the first interval.
    assert_eq!(s.scores.len(), 1);
    assert_eq!(s.intervals, Some(3));
    assert!(
        s.message
            .as_deref()
            .unwrap_or_default()
            .contains("production left untouched"),
        "{s:?}"
    );
    assert_eq!(image_of(&fake, "web", "app").as_deref(), Some(IMAGE_A));
    assert!(patches_of_production(&fake).is_empty());
    assert!(kanary_deployments(&fake).is_empty());
    assert_eq!(kanary_pods(&fake), 0);
}

#[tokio::test]
async fn never_ready_times_out_and_both_are_deleted() {
    let fake = FakeKube::start();
    fake.insert(production());
    fake.behave(IMAGE_B, Behaviour::Never);
    let source = Source::new(false);
    let record = Record::default();
    let mut spec = spec("never-1");
    spec.ready_timeout = Duration::from_millis(300);
    let outcome = Run::new(&fake, spec, &source).go(&record).await;
    let s = &outcome.status;
    assert_eq!(s.phase, StagePhase::Failed);
    assert_eq!(s.verdict, None);
    let error = s.error.clone().unwrap_or_default();
    assert!(
        error.starts_with("web-baseline and web-canary not available after 300ms: web-canary: 0 of 1 updated replicas are available"),
        "{error}"
    );
    assert!(
        source.scopes.lock().expect("lock").is_empty(),
        "no analysis"
    );
    assert!(kanary_deployments(&fake).is_empty());
    assert_eq!(kanary_pods(&fake), 0);
}

#[tokio::test]
async fn an_image_that_cannot_be_pulled_fails_fast_with_the_pods_reason() {
    let fake = FakeKube::start();
    fake.insert(production());
    fake.behave(IMAGE_B, Behaviour::ImagePullBackOff);
    let source = Source::new(false);
    let record = Record::default();
    // A long timeout: the failure must not wait for it.
    let outcome = Run::new(&fake, spec("pull-1"), &source).go(&record).await;
    let error = outcome.status.error.clone().unwrap_or_default();
    assert!(error.starts_with("pod web-canary-"), "{error}");
    assert!(
        error.ends_with(&format!(
            ": container app: ImagePullBackOff: Back-off pulling image \"{IMAGE_B}\""
        )),
        "{error}"
    );
    assert!(kanary_deployments(&fake).is_empty());
}

#[tokio::test]
async fn a_crash_looping_canary_fails_fast() {
    let fake = FakeKube::start();
    fake.insert(production());
    fake.behave(IMAGE_B, Behaviour::CrashLoopBackOff);
    let source = Source::new(false);
    let outcome = Run::new(&fake, spec("crash-1"), &source)
        .go(&Record::default())
        .await;
    let error = outcome.status.error.clone().unwrap_or_default();
    assert!(error.starts_with("pod web-canary-"), "{error}");
    assert!(
        error.contains(": container app: CrashLoopBackOff: back-off"),
        "{error}"
    );
    assert!(
        error.ends_with(" (restarted 3 times, last exit code 1)"),
        "{error}"
    );
    assert!(kanary_deployments(&fake).is_empty());
}

#[tokio::test]
async fn a_rerun_after_a_crash_deletes_the_leftovers() {
    let fake = FakeKube::start();
    fake.insert(production());
    // Run 1 "crashes" in the middle of its analysis: its future is dropped.
    let mut hanging = Source::new(false);
    hanging.hang = true;
    let crashed = Record::default();
    {
        let run = Run::new(&fake, spec("crashed-1"), &hanging).go(&crashed);
        tokio::select! {
            _ = run => panic!("the run should hang"),
            () = hanging.entered.notified() => {}
        }
    }
    assert_eq!(
        kanary_deployments(&fake).len(),
        2,
        "the crash left both behind"
    );
    // Run 2 finds them by their labels and deletes them first.
    let source = Source::new(false);
    let record = Record::default();
    let outcome = Run::new(&fake, spec("rerun-2"), &source).go(&record).await;
    assert_eq!(
        outcome.status.phase,
        StagePhase::Succeeded,
        "{:?}",
        outcome.status
    );
    let warnings = outcome.status.warnings.join("\n");
    assert!(
        warnings.contains("deleting web-baseline, left by run crashed-1"),
        "{warnings}"
    );
    assert!(
        warnings.contains("deleting web-canary, left by run crashed-1"),
        "{warnings}"
    );
    assert!(kanary_deployments(&fake).is_empty());
    assert_eq!(kanary_pods(&fake), 0);
}

#[tokio::test]
async fn a_resumed_run_adopts_its_deployments_and_keeps_its_windows() {
    let fake = FakeKube::start();
    fake.insert(production());
    let mut hanging = Source::new(false);
    hanging.hang = true;
    let record = Record::default();
    {
        let run = Run::new(&fake, spec("resume-1"), &hanging).go(&record);
        tokio::select! {
            outcome = run => panic!("should hang: {outcome:?}"),
            () = hanging.entered.notified() => {}
        }
    }
    // What the service persisted: the status with the analysis start (an hour before the
    // fake clock's now, so the resumed windows lie in the past).
    let analysis_start = Some("2026-11-30T09:00:00Z".to_string());
    let creates_before = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    let source = Source::new(false);
    let mut run = Run::new(&fake, spec("resume-1"), &source);
    run.status = Some(StageStatus {
        analysis_start_iso: analysis_start.clone(),
        ..StageStatus::new("stage-1", &spec("resume-1"))
    });
    let outcome = run.go(&Record::default()).await;
    assert_eq!(outcome.status.phase, StagePhase::Succeeded);
    assert_eq!(
        fake.requests()
            .iter()
            .filter(|r| r.method == "POST")
            .count(),
        creates_before,
        "adopted, not created again"
    );
    assert_eq!(outcome.status.analysis_start_iso, analysis_start);
    // The windows start where the first run's did, not at the resumed run's now.
    let result = outcome.status.result.expect("result");
    assert_eq!(
        result.canary_execution_results[0]
            .judgement_start_time_iso
            .as_deref(),
        Some("2026-11-30T09:00:00Z")
    );
    assert!(kanary_deployments(&fake).is_empty());
}

#[tokio::test]
async fn cancel_deletes_both_and_leaves_production() {
    let fake = FakeKube::start();
    fake.insert(production());
    let mut hanging = Source::new(false);
    hanging.hang = true;
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let record = Record::default();
    let run = Run::new(&fake, spec("cancel-1"), &hanging).go_with(&record, cancel_rx);
    tokio::pin!(run);
    tokio::select! {
        _ = &mut run => panic!("should hang"),
        () = hanging.entered.notified() => {}
    }
    cancel_tx.send(true).expect("send");
    let outcome = run.await;
    assert_eq!(outcome.status.phase, StagePhase::Canceled);
    assert!(kanary_deployments(&fake).is_empty());
    assert_eq!(image_of(&fake, "web", "app").as_deref(), Some(IMAGE_A));
}

#[tokio::test]
async fn a_forbidden_create_names_the_missing_permission() {
    let fake = FakeKube::start();
    fake.insert(production());
    fake.deny("create", "deployments");
    let source = Source::new(false);
    let outcome = Run::new(&fake, spec("rbac-1"), &source)
        .go(&Record::default())
        .await;
    let error = outcome.status.error.clone().unwrap_or_default();
    assert!(
        error.starts_with("kanary may not create deployments.apps in namespace shop: "),
        "{error}"
    );
    assert!(
        error.contains("cannot create resource \"deployments\""),
        "{error}"
    );
    assert!(error.ends_with("(give its service account a Role with 'create' on deployments.apps; see deploy/kanary.yaml)"), "{error}");
}

#[tokio::test]
async fn a_forbidden_promotion_fails_after_a_pass_without_touching_production() {
    let fake = FakeKube::start();
    fake.insert(production());
    fake.deny("patch", "deployments");
    let source = Source::new(false);
    let outcome = Run::new(&fake, spec("rbac-2"), &source)
        .go(&Record::default())
        .await;
    let s = &outcome.status;
    assert_eq!(s.phase, StagePhase::Failed);
    assert_eq!(s.verdict, Some(Verdict::Pass));
    assert!(!s.promoted);
    assert!(
        s.error
            .as_deref()
            .unwrap_or_default()
            .starts_with("kanary may not patch deployments.apps in namespace shop"),
        "{s:?}"
    );
    assert_eq!(image_of(&fake, "web", "app").as_deref(), Some(IMAGE_A));
    assert!(kanary_deployments(&fake).is_empty());
}

#[tokio::test]
async fn a_missing_production_deployment_or_container_is_named() {
    let fake = FakeKube::start();
    let source = Source::new(false);
    let outcome = Run::new(&fake, spec("none-1"), &source)
        .go(&Record::default())
        .await;
    let error = outcome.status.error.clone().unwrap_or_default();
    assert!(
        error.starts_with("cannot get deployments.apps shop/web: deployments.apps \"web\" not found (404 NotFound)"),
        "{error}"
    );
    fake.insert(production());
    let mut s = spec("none-2");
    s.container = "api".into();
    let outcome = Run::new(&fake, s, &source).go(&Record::default()).await;
    assert_eq!(
        outcome.status.error.as_deref(),
        Some("deployment web has no container 'api' (its containers: app, proxy)")
    );
    assert!(kanary_deployments(&fake).is_empty());
}

#[tokio::test]
async fn someone_elses_deployment_of_the_same_name_is_never_touched() {
    let fake = FakeKube::start();
    fake.insert(production());
    let mut other = production();
    other["metadata"]["name"] = json!("web-canary");
    other["spec"]["selector"]["matchLabels"] = json!({"app": "other"});
    other["spec"]["template"]["metadata"]["labels"] = json!({"app": "other"});
    fake.insert(other);
    let source = Source::new(false);
    let outcome = Run::new(&fake, spec("clash-1"), &source)
        .go(&Record::default())
        .await;
    let error = outcome.status.error.clone().unwrap_or_default();
    assert!(
        error.starts_with("a Deployment shop/web-canary exists and is not kanary's"),
        "{error}"
    );
    assert!(
        fake.get("Deployment", NS, "web-canary").is_some(),
        "not deleted"
    );
    // The baseline it did create is gone.
    assert!(fake.get("Deployment", NS, "web-baseline").is_none());
}

#[tokio::test]
async fn pod_label_overrides_keep_productions_selector_off_the_canary() {
    let fake = FakeKube::start();
    let mut p = production();
    p["spec"]["selector"]["matchLabels"] = json!({"app": "web", "track": "stable"});
    p["spec"]["template"]["metadata"]["labels"] = json!({"app": "web", "track": "stable"});
    fake.insert(p);
    let source = Source::new(false);
    let mut s = spec("labels-1");
    s.pod_labels = BTreeMap::from([("track".to_string(), "canary".to_string())]);
    s.promote = false;
    let outcome = Run::new(&fake, s, &source).go(&Record::default()).await;
    assert_eq!(outcome.status.phase, StagePhase::Succeeded);
    assert!(
        outcome.status.warnings.is_empty(),
        "{:?}",
        outcome.status.warnings
    );
    assert!(!outcome.status.promoted);
    assert_eq!(image_of(&fake, "web", "app").as_deref(), Some(IMAGE_A));
}
