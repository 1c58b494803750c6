//! A real PostgreSQL server for tests, from Debian's `postgresql` package (std only).
//!
//! Include it with `#[path = "support/postgres_server.rs"] mod postgres_server;`.
//! [`PostgresServer::shared`] starts one server for the tests of a binary that run at the
//! same time and stops it when the last of them is done; [`PostgresServer::create_database`]
//! gives each test its own empty database on it.
//!
//! The cluster lives in a temporary directory owned by the `postgres` user: `initdb`
//! refuses to run as root, so when the tests run as root (CI containers) `initdb` and
//! `pg_ctl` run through `su postgres`. The server listens on 127.0.0.1 only, on a free port,
//! with its socket in the same directory, and trusts every local connection (user
//! `postgres`, no password). Dropping the server stops it (`pg_ctl stop -m fast`) and
//! removes the directory.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// A running PostgreSQL cluster.
#[derive(Debug)]
pub struct PostgresServer {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres_user: bool,
    databases: AtomicUsize,
}

/// Clusters started by this process, for unique directory names.
static CLUSTERS: AtomicUsize = AtomicUsize::new(0);

impl PostgresServer {
    /// The server the tests of this binary share while any of them holds it; started on
    /// first use (again if every holder dropped it in between).
    pub fn shared() -> Arc<PostgresServer> {
        static SHARED: Mutex<Weak<PostgresServer>> = Mutex::new(Weak::new());
        // A test that panicked while starting the server poisons the lock; the state (a
        // Weak) is still valid.
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(server) = shared.upgrade() {
            return server;
        }
        let server = Arc::new(PostgresServer::start());
        *shared = Arc::downgrade(&server);
        server
    }

    /// Starts a new cluster. Panics, saying what to install, when PostgreSQL is missing.
    pub fn start() -> PostgresServer {
        let bin = find_bin_dir();
        let as_postgres_user = running_as_root();
        let dir = std::env::temp_dir().join(format!(
            "kanary-pg-{}-{}",
            std::process::id(),
            CLUSTERS.fetch_add(1, Ordering::SeqCst)
        ));
        // The paths go through `su -c` and `pg_ctl -o`, two shells: allow only characters
        // that need no quoting rather than quote twice.
        assert!(
            dir.to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c)),
            "the temporary directory {} has characters the PostgreSQL harness does not quote; \
             set TMPDIR to a plain path",
            dir.display()
        );
        if dir.exists() {
            // Left over by a process with the same pid that was killed.
            let _ = std::fs::remove_dir_all(&dir);
        }
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let mut server = PostgresServer {
            bin,
            dir,
            port: 0,
            as_postgres_user,
            databases: AtomicUsize::new(0),
        };
        if as_postgres_user {
            checked(
                "chown",
                Command::new("chown")
                    .arg("postgres:postgres")
                    .arg(&server.dir)
                    .output(),
            );
        }
        let data = server.data_dir();
        server.as_owner(&format!(
            "{} -D {} -A trust -U postgres -E UTF8 --no-sync",
            server.tool("initdb"),
            data.display()
        ));
        // A free port can be taken by another process between the probe and the start:
        // try a few.
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port();
            let options = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300 \
                 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                server.dir.display()
            );
            let out = server.try_as_owner(&format!(
                "{} -D {} -o '{options}' -l {} -w -t 60 start",
                server.tool("pg_ctl"),
                data.display(),
                server.log_file().display()
            ));
            if out.status.success() {
                server.port = port;
                return server;
            }
            last_error = format!(
                "{}{}\nserver log:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(server.log_file()).unwrap_or_default()
            );
        }
        panic!("PostgreSQL did not start: {last_error}");
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of a database on this server.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates a new, empty database and returns its URL.
    pub fn create_database(&self) -> String {
        let name = format!("kanary_{}", self.databases.fetch_add(1, Ordering::SeqCst));
        checked(
            "createdb",
            Command::new(self.bin.join("createdb"))
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "postgres",
                ])
                .arg(&name)
                .output(),
        );
        self.url(&name)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    fn tool(&self, name: &str) -> String {
        self.bin.join(name).display().to_string()
    }

    fn try_as_owner(&self, command: &str) -> Output {
        let out = if self.as_postgres_user {
            Command::new("su")
                .args(["postgres", "-s", "/bin/sh", "-c", command])
                .output()
        } else {
            Command::new("/bin/sh").args(["-c", command]).output()
        };
        out.unwrap_or_else(|e| panic!("cannot run `{command}`: {e}"))
    }

    fn as_owner(&self, command: &str) {
        let out = self.try_as_owner(command);
        assert!(
            out.status.success(),
            "`{command}` failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        if self.port != 0 {
            // Not asserted: Drop also runs while a failed test unwinds.
            let _ = self.try_as_owner(&format!(
                "{} -D {} -m fast -w stop",
                self.tool("pg_ctl"),
                self.data_dir().display()
            ));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `/usr/lib/postgresql/<version>/bin`, the newest version installed.
fn find_bin_dir() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let newest = std::fs::read_dir(root).ok().and_then(|entries| {
        entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let version: u32 = e.file_name().to_str()?.parse().ok()?;
                let bin = e.path().join("bin");
                bin.join("initdb").is_file().then_some((version, bin))
            })
            .max_by_key(|(version, _)| *version)
    });
    match newest {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL is not installed (no /usr/lib/postgresql/<version>/bin/initdb): \
             install the Debian package postgresql; scripts/test.sh does"
        ),
    }
}

fn running_as_root() -> bool {
    let out = checked("id -u", Command::new("id").arg("-u").output());
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

fn checked(what: &str, out: std::io::Result<Output>) -> Output {
    let out = out.unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
