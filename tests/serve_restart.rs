//! `kanary serve` killed with SIGKILL and started again on the same SQLite file, as a pod
//! evicted without notice: the built binary on 127.0.0.1, a real Prometheus with the
//! recorded data of `testdata/e2e/`, requests over a plain TCP socket.
//!
//! What was stored survives (the config, a completed canary's result), and the analysis
//! that was running when the process died is claimed again by the new process once its
//! lease (`--lease 1s`) has expired: never left running under a dead owner.
#![allow(clippy::unwrap_used)]

#[path = "../metrics-sources/tests/support/prometheus_server.rs"]
mod prometheus_server;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use kanary::store::ExecutionStatus;
use prometheus_server::PrometheusServer;
use serde_json::{Value, json};

/// Polls before a test gives up waiting for the server (× 50 ms: 60 s).
const POLL_TRIES: usize = 1200;
const POLL_EVERY: Duration = Duration::from_millis(50);
/// A bound on one request, against a hung server.
const REQUEST_BOUND: Duration = Duration::from_secs(30);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "kanary-restart-test-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One `kanary serve` process.
struct Server {
    child: Child,
    addr: String,
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts `kanary serve --port 0 ARGS` in `dir` and reads the address it prints.
    fn start(dir: &TempDir, args: &[&str]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kanary"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("KANARY_") {
                command.env_remove(name);
            }
        }
        let mut child = command
            .current_dir(&dir.0)
            .env("NO_COLOR", "1")
            .args(["serve", "--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Drain stderr all along, so that the server never blocks on a full pipe.
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        let stderr_reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            sink.lock().unwrap().push_str(&text);
        });
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let mut server = Server {
            child,
            addr: String::new(),
            stderr,
            stderr_reader: Some(stderr_reader),
        };
        match line.trim().strip_prefix("listening on http://") {
            Some(addr) => server.addr = addr.to_string(),
            None => {
                let stderr = server.kill();
                panic!("no address line: {line:?}; stderr: {stderr}");
            }
        }
        server
    }

    /// SIGKILL: no shutdown runs, no lease is released. Returns what it logged.
    fn kill(&mut self) -> String {
        // Only our own child, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        self.stderr.lock().unwrap().clone()
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
        http(&self.addr, method, path, body)
    }

    fn json(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let (status, text) = self.call(method, path, body);
        assert_eq!(status, 200, "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Polls `GET path` until `done` holds.
    fn wait_for(&self, path: &str, done: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..POLL_TRIES {
            let body = self.json("GET", path, None);
            if done(&body) {
                return body;
            }
            std::thread::sleep(POLL_EVERY);
        }
        panic!("{path} never reached the expected state");
    }

    fn metric(&self, series: &str) -> Option<String> {
        let (status, text) = self.call("GET", "/metrics", None);
        assert_eq!(status, 200);
        text.lines().find_map(|line| {
            line.strip_prefix(series)?
                .strip_prefix(' ')
                .map(str::to_string)
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One HTTP/1.1 request with `Connection: close`; the status and the body.
fn http(addr: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(REQUEST_BOUND)).unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

fn interval_wait_running(body: &Value) -> bool {
    body["stageStatus"].as_array().is_some_and(|stages| {
        stages
            .iter()
            .any(|s| s["name"] == "Interval Wait #1" && s["status"] == "RUNNING")
    })
}

#[test]
fn a_killed_server_restarts_on_its_sqlite_file_and_resumes_its_analysis() {
    let prom = PrometheusServer::start(
        &std::fs::read_to_string(root().join("testdata/e2e/metrics.om")).unwrap(),
    );
    let dir = TempDir::new();
    let database = format!("sqlite://{}/k.db", dir.0.display());
    let prom_url = prom.url();
    let args = [
        "--database-url",
        database.as_str(),
        "--lease",
        "1s",
        "--prometheus-url",
        prom_url.as_str(),
    ];
    let mut first = Server::start(&dir, &args);

    // A config, and a canary over the recorded hour, completed before the crash.
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("testdata/e2e/canary-config.json")).unwrap(),
    )
    .unwrap();
    let stored = first.json("POST", "/canaryConfig", Some(&config));
    let config_id = stored["canaryConfigId"].as_str().unwrap().to_string();
    let scope = |s: &str| {
        json!({"scope": s, "location": "", "step": 60,
               "start": "2026-01-01T10:00:00Z", "end": "2026-01-01T11:00:00Z"})
    };
    let canary_request = json!({
        "scopes": {"default": {"controlScope": scope("web-baseline"), "experimentScope": scope("web-good")}},
        "thresholds": {"pass": 95, "marginal": 75}
    });
    let started = first.json(
        "POST",
        &format!("/canary/{config_id}?application=web&metricsAccountName=prometheus"),
        Some(&canary_request),
    );
    let canary_id = started["canaryExecutionId"].as_str().unwrap().to_string();
    let canary_path = format!("/canary/{canary_id}");
    let canary = first.wait_for(&canary_path, |b| b["complete"] == json!(true));
    assert_eq!(canary["status"], "succeeded", "{canary}");
    assert_eq!(canary["result"]["judgeResult"]["score"]["score"], 100.0);
    // The executor counts a completion right after the store accepted it, which a client
    // may see first: polled.
    let completed = r#"kanary_executions_completed_total{kind="canary",status="succeeded"}"#;
    let counted = (0..POLL_TRIES).find_map(|_| {
        let value = first.metric(completed).filter(|v| v != "0");
        if value.is_none() {
            std::thread::sleep(POLL_EVERY);
        }
        value
    });
    if counted.as_deref() != Some("1") {
        let (_, text) = first.call("GET", "/metrics", None);
        panic!("{counted:?}\n{text}\n{}", first.kill());
    }

    // An analysis that waits in real time (its first window ends a minute from now).
    let analysis_request = json!({
        "scopes": [{"controlScope": "web-baseline", "experimentScope": "web-good", "step": 60}],
        "thresholds": {"pass": 95, "marginal": 75},
        "lifetimeDurationMins": 2,
        "analysisIntervalMins": 1
    });
    let started = first.json(
        "POST",
        &format!(
            "/standalone_canary_analysis/{config_id}?application=web&metricsAccountName=prometheus"
        ),
        Some(&analysis_request),
    );
    let analysis_id = started["canaryAnalysisExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    let analysis_path = format!("/standalone_canary_analysis/{analysis_id}");
    let waiting = first.wait_for(&analysis_path, interval_wait_running);
    assert_eq!(waiting["executionStatus"], "RUNNING", "{waiting}");

    // The test reads the lease holder from the file itself (no endpoint shows it).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = runtime.block_on(kanary::store::open(&database)).unwrap();
    let before = runtime
        .block_on(store.get_execution(&analysis_id))
        .unwrap()
        .unwrap();
    assert_eq!(before.attempts, 1);
    let first_owner = before.owner.clone().unwrap();

    let first_log = first.kill();
    assert!(!first_log.contains("shutting down"), "{first_log}");

    // The same file, a new process.
    let second = Server::start(&dir, &args);
    let configs = second.json("GET", "/canaryConfig", None);
    let listed: Vec<&str> = configs
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(listed, [config_id.as_str()], "{configs}");
    let (status, text) = second.call("GET", &format!("/canaryConfig/{config_id}"), None);
    assert_eq!(status, 200, "{text}");
    let reread: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(reread["name"], "web-e2e");
    let after = second.json("GET", &canary_path, None);
    assert_eq!(after["status"], "succeeded");
    assert_eq!(after["result"], canary["result"]);

    // The analysis is claimed again once the dead process's lease has expired: a second
    // attempt, running (its windows are still ahead) or already finished.
    let resumed = runtime.block_on(async {
        for _ in 0..POLL_TRIES {
            let execution = store.get_execution(&analysis_id).await.unwrap().unwrap();
            if execution.attempts >= 2 {
                return Some(execution);
            }
            assert_eq!(execution.status, ExecutionStatus::Running, "{execution:?}");
            assert_eq!(execution.owner.as_deref(), Some(first_owner.as_str()));
            tokio::time::sleep(POLL_EVERY).await;
        }
        None
    });
    let resumed = resumed.expect("the restarted server never claimed the analysis");
    assert_eq!(resumed.attempts, 2, "{resumed:?}");
    assert_eq!(
        resumed.started_ms, before.started_ms,
        "a resumed analysis keeps its first start, so its windows do not move"
    );
    assert!(
        matches!(
            resumed.status,
            ExecutionStatus::Running | ExecutionStatus::Succeeded | ExecutionStatus::Terminal
        ),
        "{resumed:?}"
    );
    let body = second.json("GET", &analysis_path, None);
    assert!(
        body["executionStatus"] == "RUNNING" || body["complete"] == json!(true),
        "{body}"
    );
    if resumed.status == ExecutionStatus::Running {
        // The new process holds it, and its scrape shows it.
        assert!(resumed.owner.is_some(), "{resumed:?}");
        assert_ne!(resumed.owner.as_deref(), Some(first_owner.as_str()));
        assert_eq!(
            second
                .metric(r#"kanary_executions{kind="standalone",status="running"}"#)
                .as_deref(),
            Some("1")
        );
    }
}

/// Regression: `main` once held the stderr lock for the whole of `serve`, so the first log
/// line from a runtime worker thread blocked it for good, and the server stopped answering
/// after as many completed runs as it had worker threads. Logging is on (the default
/// `info`), and more runs complete than the 2-core machine has worker threads.
#[test]
fn logging_from_worker_threads_never_stalls_the_server() {
    let prom = PrometheusServer::start(
        &std::fs::read_to_string(root().join("testdata/e2e/metrics.om")).unwrap(),
    );
    let dir = TempDir::new();
    let prom_url = prom.url();
    let server = Server::start(
        &dir,
        &[
            "--database-url",
            "memory:",
            "--prometheus-url",
            prom_url.as_str(),
        ],
    );
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("testdata/e2e/canary-config.json")).unwrap(),
    )
    .unwrap();
    let stored = server.json("POST", "/canaryConfig", Some(&config));
    let config_id = stored["canaryConfigId"].as_str().unwrap().to_string();
    let scope = |s: &str| {
        json!({"scope": s, "location": "", "step": 60,
               "start": "2026-01-01T10:00:00Z", "end": "2026-01-01T11:00:00Z"})
    };
    for run in 0..6 {
        let canary = if run % 2 == 0 { "web-good" } else { "web-bad" };
        let request = json!({
            "scopes": {"default": {"controlScope": scope("web-baseline"), "experimentScope": scope(canary)}},
            "thresholds": {"pass": 95, "marginal": 75}
        });
        let started = server.json(
            "POST",
            &format!("/canary/{config_id}?application=web"),
            Some(&request),
        );
        let id = started["canaryExecutionId"].as_str().unwrap().to_string();
        let done = server.wait_for(&format!("/canary/{id}"), |b| b["complete"] == json!(true));
        assert_eq!(done["status"], "succeeded", "run {run}: {done}");
    }
}
