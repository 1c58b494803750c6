//! `kanary canary` end to end: the binary against the fake Kubernetes API server
//! (`tests/support/fake_kube`, through a kubeconfig file) and a real Prometheus on
//! 127.0.0.1.
//!
//! The stage analyses "now", and Prometheus only takes backfilled data older than its
//! head block (≈ 3 h). So the series are backfilled 4 h ago and Prometheus runs with a
//! 30-day lookback delta: a range query at now repeats each series' last sample, a steady
//! latency per side (0.1 s on the baseline; 0.1 s or 0.5 s on the canary).
#![allow(clippy::unwrap_used)]

#[path = "support/fake_kube/mod.rs"]
mod fake_kube;
#[path = "../metrics-sources/tests/support/prometheus_server.rs"]
mod prometheus_server;
#[path = "support/stage_fixtures.rs"]
mod stage_fixtures;

use std::path::{Path, PathBuf};
use std::process::Command;

use fake_kube::FakeKube;
use prometheus_server::PrometheusServer;
use serde_json::{Value, json};
use stage_fixtures::{IMAGE_A, IMAGE_B, NS, production};

const CONFIG: &str = r#"{
  "name": "web-steady",
  "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
  "metrics": [{
    "name": "latency",
    "query": {"type": "prometheus", "metricName": "latency_seconds",
              "customInlineTemplate": "PromQL:avg(latency_seconds{pod=~\"${scope}-.*\"})"},
    "groups": ["latency"],
    "analysisConfigurations": {"canary": {"direction": "increase"}},
    "scopeName": "default"
  }],
  "classifier": {"groupWeights": {"latency": 100}}
}"#;

/// Ten samples a minute apart, four hours ago, for each side.
fn openmetrics(canary_latency: f64) -> String {
    let t0 = chrono::Utc::now().timestamp() - 4 * 3600;
    let mut om = String::from("# TYPE latency_seconds gauge\n");
    for (pod, value) in [
        ("web-baseline-7f9c-abcde", 0.1),
        ("web-canary-7f9c-fghij", canary_latency),
    ] {
        for k in 0..10 {
            om.push_str(&format!(
                "latency_seconds{{pod=\"{pod}\"}} {value} {}\n",
                t0 + 60 * k
            ));
        }
    }
    om.push_str("# EOF\n");
    om
}

struct Setup {
    fake: FakeKube,
    prometheus: PrometheusServer,
    dir: PathBuf,
}

impl Setup {
    fn new(canary_latency: f64) -> Self {
        let fake = FakeKube::start();
        fake.insert(production());
        let prometheus = PrometheusServer::start_with_args(
            &openmetrics(canary_latency),
            &["--query.lookback-delta=30d"],
        );
        let dir = std::env::temp_dir().join(format!(
            "kanary-canary-cli-{}-{}",
            std::process::id(),
            fake.url().rsplit(':').next().unwrap()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        fake.write_kubeconfig(&dir.join("kubeconfig"));
        std::fs::write(dir.join("canary.json"), CONFIG).unwrap();
        Self {
            fake,
            prometheus,
            dir,
        }
    }

    fn run(&self, extra: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_kanary"))
            .args([
                "canary",
                "--kubeconfig",
                path(&self.dir.join("kubeconfig")),
                "--namespace",
                NS,
                "--deployment",
                "web",
                "--container",
                "app",
                "--image",
                IMAGE_B,
                "--config",
                path(&self.dir.join("canary.json")),
                "--prometheus-url",
                &self.prometheus.url(),
                "--lifetime",
                "2s",
                "--interval",
                "1s",
                "--step",
                "1",
                "--run-id",
                "cli-1",
            ])
            .args(extra)
            .env_remove("KUBECONFIG")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn production_image(&self) -> String {
        self.fake.get("Deployment", NS, "web").unwrap()["spec"]["template"]["spec"]["containers"][0]
            ["image"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn leftovers(&self) -> usize {
        self.fake
            .list("Deployment", NS)
            .iter()
            .filter(|d| d["metadata"]["name"] != "web")
            .count()
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_healthy_canary_passes_and_is_promoted() {
    let setup = Setup::new(0.1);
    let (code, stdout, stderr) = setup.run(&["--promote", "--format", "json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let status: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(status["phase"], "Succeeded");
    assert_eq!(status["verdict"], "pass");
    assert_eq!(status["promoted"], true);
    assert_eq!(status["scores"], json!([100.0, 100.0]));
    assert_eq!(setup.production_image(), IMAGE_B);
    assert_eq!(setup.leftovers(), 0);
    // Progress: each phase on stderr.
    for expected in [
        "kanary: created shop/web-baseline",
        "kanary: created shop/web-canary",
        "kanary: web-baseline and web-canary are available (1 pod each)",
        "kanary: judgement 1/2 ",
        "kanary: deleted shop/web-canary",
        "kanary: production shop/web runs registry.example/web:B",
    ] {
        assert!(stderr.contains(expected), "{expected} not in:\n{stderr}");
    }
}

#[test]
fn a_slow_canary_fails_and_production_is_untouched() {
    let setup = Setup::new(0.5);
    let (code, stdout, stderr) = setup.run(&["--promote"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("canary shop/web with registry.example/web:B: FAIL\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("production: untouched (registry.example/web:A)"),
        "{stdout}"
    );
    assert_eq!(setup.production_image(), IMAGE_A);
    assert_eq!(setup.leftovers(), 0);
}

#[test]
fn a_missing_permission_is_one_line_and_exit_2() {
    let setup = Setup::new(0.1);
    setup.fake.deny("create", "deployments");
    let (code, _stdout, stderr) = setup.run(&[]);
    assert_eq!(code, 2, "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("kanary: kanary may not create deployments.apps in namespace shop"),
        "{stderr}"
    );
}

#[test]
fn bad_flags_name_the_flag() {
    let setup = Setup::new(0.1);
    let (code, _, stderr) = setup.run(&["--pod-label", "kanary.io/role=x"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--pod-labels: 'kanary.io/role' is kanary's own label"),
        "{stderr}"
    );
    // Nothing was created.
    assert!(setup.fake.requests().iter().all(|r| r.method == "GET"));
}
