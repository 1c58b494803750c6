//! A real Prometheus on 127.0.0.1 with backfilled data, for tests (std only, so that any
//! test crate of the workspace can include it with `#[path = ...] mod prometheus_server;`).
//!
//! [`PrometheusServer::start`] writes the OpenMetrics text to a fresh temporary directory,
//! backfills it with `promtool tsdb create-blocks-from openmetrics`, starts `prometheus`
//! on a free port, waits for `/-/ready`, and on drop kills the process and removes the
//! directory. What the data must look like (see `ENVIRONMENT.md`):
//! * timestamps in **seconds**, samples sorted by time within a series, a final `# EOF`;
//! * older than ~3 h (the head block's range), so that Prometheus serves it from blocks;
//! * queried exactly over the sampled window with `step` = the spacing: Prometheus's
//!   5-minute lookback repeats the last sample into gaps and past the end (pass
//!   `--query.lookback-delta` through [`PrometheusServer::start_with_args`] to change it).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// How often, and how far apart, `/-/ready` is polled (Prometheus is ready in well under
/// a second; the bound only keeps a broken start from hanging the test run).
const READY_TRIES: u32 = 600;
const READY_INTERVAL: Duration = Duration::from_millis(50);
/// Starts retried when Prometheus exits at once (another process took the free port).
const START_TRIES: u32 = 3;

const INSTALL_HINT: &str = "install the Debian package prometheus; scripts/test.sh does";

/// A running Prometheus serving backfilled data; stopped and cleaned up on drop.
pub struct PrometheusServer {
    child: Option<Child>,
    dir: PathBuf,
    port: u16,
}

impl PrometheusServer {
    /// Backfills `openmetrics` and starts Prometheus with its defaults.
    pub fn start(openmetrics: &str) -> Self {
        Self::start_with_args(openmetrics, &[])
    }

    /// Backfills `openmetrics` and starts Prometheus with `extra_args` added to its
    /// command line (e.g. `--query.lookback-delta=30s`). Panics with the reason (and
    /// Prometheus's log) when it cannot.
    pub fn start_with_args(openmetrics: &str, extra_args: &[&str]) -> Self {
        let dir = temp_dir();
        // From here on, Drop removes the directory even if a step panics.
        let mut server = Self {
            child: None,
            dir,
            port: 0,
        };
        let data = server.dir.join("data");
        let input = server.dir.join("data.om");
        std::fs::write(&input, openmetrics).expect("write the OpenMetrics file");
        backfill(&input, &data);
        let config = server.dir.join("prometheus.yml");
        std::fs::write(
            &config,
            "global:\n  scrape_interval: 1m\nscrape_configs: []\n",
        )
        .expect("write the Prometheus config");
        let log = server.dir.join("prometheus.log");
        for attempt in 1..=START_TRIES {
            let port = free_port();
            let child = spawn(&config, &data, port, &log, extra_args);
            server.child = Some(child);
            server.port = port;
            match server.wait_ready() {
                Ok(()) => return server,
                Err(why) if attempt < START_TRIES => {
                    server.stop();
                    eprintln!("prometheus did not start ({why}); trying another port");
                }
                Err(why) => panic!(
                    "prometheus did not become ready: {why}\n--- prometheus log ---\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                ),
            }
        }
        unreachable!("the last start attempt returns or panics")
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port Prometheus listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Polls `/-/ready` until it answers 200, the process exits, or the tries run out.
    fn wait_ready(&mut self) -> Result<(), String> {
        for _ in 0..READY_TRIES {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("prometheus exited with {status}"));
                }
            }
            if http_get_status(self.port, "/-/ready") == Some(200) {
                return Ok(());
            }
            std::thread::sleep(READY_INTERVAL);
        }
        Err(format!(
            "/-/ready did not answer 200 within {READY_TRIES} tries"
        ))
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A new, empty directory under the system's temporary directory.
fn temp_dir() -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "kanary-prometheus-{}-{n}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    dir
}

fn backfill(input: &Path, data: &Path) {
    let output = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(input)
        .arg(data)
        .output()
        .unwrap_or_else(|e| panic!("cannot run promtool ({e}): {INSTALL_HINT}"));
    assert!(
        output.status.success(),
        "promtool tsdb create-blocks-from openmetrics failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn spawn(config: &Path, data: &Path, port: u16, log: &Path, extra_args: &[&str]) -> Child {
    let log_file = std::fs::File::create(log).expect("create the Prometheus log");
    let log_err = log_file.try_clone().expect("clone the log handle");
    Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        // Retention counts from the newest block: a long one keeps old backfilled blocks.
        .arg("--storage.tsdb.retention.time=3650d")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .args(extra_args)
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run prometheus ({e}): {INSTALL_HINT}"))
}

/// A port that was free a moment ago (bound to port 0, read, released).
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// The status code of `GET path` over plain HTTP/1.0, or `None` if there is no answer.
fn http_get_status(port: u16, path: &str) -> Option<u16> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 64];
    let mut len = 0;
    while len < 12 {
        match stream.read(&mut head[len..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => len += n,
        }
    }
    // "HTTP/1.x 200 ..."
    let text = std::str::from_utf8(&head[..len]).ok()?;
    text.split_whitespace().nth(1)?.parse().ok()
}
