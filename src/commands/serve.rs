//! `kanary serve`: reads the flags (and their `KANARY_*` variables), opens the store and the
//! accounts, and runs the REST API next to the background executor until SIGTERM/SIGINT.
//!
//! # Shutdown
//!
//! One shutdown signal, a [`watch`] channel, is shared by the server and the executor
//! (linkerd2-proxy's `main.rs`, axum's `graceful-shutdown` example). On the first SIGTERM or
//! SIGINT the server stops accepting connections and lets in-flight requests finish, and
//! the executor stops claiming work and stops its running executions, for at most
//! `--shutdown-grace` seconds; then the process exits 0 (a second signal exits at once).
//!
//! Running executions are never completed by a shutdown: their progress stays in the store
//! as the executor last wrote it and their lease is simply no longer renewed. Once it
//! expires, the next start of kanary on the same database, or another replica sharing the
//! PostgreSQL database, claims them again and resumes them (attempts are at least once,
//! results exactly once), so nothing is left "running" forever.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::accounts::Accounts;
use crate::cli::ServeArgs;
use crate::server::{AppState, ServerSettings};
use crate::{ExitStatus, Output};

/// The environment variable that holds the token (never a flag: the process list shows
/// flag values).
const TOKEN_ENV: &str = "KANARY_AUTH_TOKEN";

/// Runs `kanary serve` until a shutdown signal.
pub(crate) fn run(args: &ServeArgs, out: &mut Output<'_>) -> anyhow::Result<ExitStatus> {
    // Everything that can be refused is checked before a socket is bound or a database is
    // touched: a refusal to expose an open API must never expose it even briefly.
    let token = auth_token(
        args.auth_token_file.as_deref(),
        std::env::var_os(TOKEN_ENV).map(|v| v.to_string_lossy().into_owned()),
    )?;
    let addr = SocketAddr::new(args.bind, args.port);
    check_exposure(addr, token.is_some(), args.allow_anonymous)?;
    let accounts = load_accounts(args.accounts.as_deref(), args.prometheus_url.as_deref())?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(serve(args, addr, token, accounts, out));
    // Tasks still running after the grace period (a stuck request) are dropped here.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

async fn serve(
    args: &ServeArgs,
    addr: SocketAddr,
    token: Option<String>,
    accounts: Accounts,
    out: &mut Output<'_>,
) -> anyhow::Result<ExitStatus> {
    // Handlers first: a signal that arrives right after the address is printed must start
    // a graceful shutdown, not kill the process.
    let mut signals = Signals::new()?;
    let store = crate::store::open(&args.database_url)
        .await
        .with_context(|| format!("cannot open the {} store", scheme(&args.database_url)))?;
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener
        .local_addr()
        .context("cannot read the bound address")?;

    let metrics_accounts: Vec<&str> = accounts.metrics.iter().map(|a| a.name.as_str()).collect();
    if metrics_accounts.is_empty() {
        tracing::warn!(
            "no metrics account: canary runs will fail until --accounts or --prometheus-url \
             names one (configs, stored objects and POST /judge work without)"
        );
    }
    tracing::info!(
        address = %local,
        store = scheme(&args.database_url),
        metrics_accounts = ?metrics_accounts,
        auth = if token.is_some() { "token" } else { "none" },
        allow_anonymous = args.allow_anonymous,
        "kanary serve started"
    );
    let state = AppState {
        store,
        accounts: Arc::new(accounts),
        settings: Arc::new(ServerSettings {
            max_body_bytes: args.max_body,
            auth_token: token,
            allow_anonymous: args.allow_anonymous,
            instance_id: format!("{}@{}", uuid::Uuid::new_v4(), hostname()),
        }),
        wake: Arc::new(Notify::new()),
        metrics: Arc::new(crate::server::Metrics::new()),
        kube: kube_client(args.kubeconfig.as_deref()).await?,
    };

    writeln!(out.stdout, "listening on http://{local}")?;
    out.stdout.flush()?;

    let (stop, stopped) = watch::channel(false);
    let shutdown = |mut rx: watch::Receiver<bool>| async move {
        // An error means the sender is gone, which only happens once we are done anyway.
        let _ = rx.wait_for(|stop| *stop).await;
    };
    // Whichever of the two ends first (the server on an I/O error, the executor if it
    // gives up) stops the other: a replica that only half runs is worse than none.
    let server = async {
        let result = crate::server::serve(listener, state.clone(), shutdown(stopped.clone())).await;
        stop.send_replace(true);
        result
    };
    let executor = async {
        let options = crate::executor::WorkerOptions {
            lease: args.lease,
            ..crate::executor::WorkerOptions::default()
        };
        crate::executor::run_with(state.clone(), options, shutdown(stopped.clone())).await;
        stop.send_replace(true);
    };
    let work = async { tokio::join!(server, executor).0 };
    tokio::pin!(work);

    tokio::select! {
        result = &mut work => {
            result.context("the server stopped")?;
            bail!("the executor stopped on its own");
        }
        signal = signals.recv() => {
            tracing::info!(
                signal,
                grace_seconds = args.shutdown_grace,
                "shutting down: finishing requests; running executions resume at the next start"
            );
            stop.send_replace(true);
        }
    }
    let grace = tokio::time::sleep(Duration::from_secs(args.shutdown_grace));
    tokio::select! {
        result = &mut work => {
            result.context("the server failed while stopping")?;
            tracing::info!("stopped");
        }
        () = grace => tracing::warn!(
            "grace period over: exiting with work in flight; its leases expire and the \
             next start resumes it"
        ),
        signal = signals.recv() => tracing::warn!(signal, "second signal: exiting at once"),
    }
    Ok(ExitStatus::Success)
}

/// The token from `--auth-token-file` or `KANARY_AUTH_TOKEN` (not both), trimmed. The
/// token itself never appears in an error.
fn auth_token(file: Option<&Path>, env: Option<String>) -> anyhow::Result<Option<String>> {
    let (token, origin) = match (file, env) {
        (Some(_), Some(_)) => bail!(
            "both {TOKEN_ENV} and --auth-token-file (KANARY_AUTH_TOKEN_FILE) are set: use one"
        ),
        (Some(path), None) => (
            std::fs::read_to_string(path)
                .with_context(|| format!("--auth-token-file: cannot read {}", path.display()))?,
            path.display().to_string(),
        ),
        (None, Some(token)) => (token, TOKEN_ENV.to_string()),
        (None, None) => return Ok(None),
    };
    // Secrets mounted from Kubernetes or written with `echo` end with a newline.
    let token = token.trim();
    if token.is_empty() {
        bail!("the auth token in {origin} is empty");
    }
    // RFC 6750's b64token is visible ASCII; anything else could never be sent as a header.
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        bail!("the auth token in {origin} contains spaces or characters outside visible ASCII");
    }
    Ok(Some(token.to_string()))
}

/// Refuses to serve an open API beyond loopback: without a token, anyone who reaches the
/// address could read and change configs and start analyses against the metric stores.
fn check_exposure(addr: SocketAddr, has_token: bool, allow_anonymous: bool) -> anyhow::Result<()> {
    if has_token || allow_anonymous || is_loopback(addr.ip()) {
        return Ok(());
    }
    bail!(
        "refusing to listen on {addr} without an auth token: anyone who can reach it could \
         read and change canary configs and start analyses. Set {TOKEN_ENV} or \
         --auth-token-file, or pass --allow-anonymous (KANARY_ALLOW_ANONYMOUS=true) if a \
         network policy protects it, or listen on 127.0.0.1"
    )
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// The Kubernetes client of `/stages/canary`: `--kubeconfig` must work; without it, a
/// cluster found by inference is used and its absence only disables the endpoint.
async fn kube_client(path: Option<&Path>) -> anyhow::Result<Option<kube::Client>> {
    let config = match path {
        Some(path) => crate::commands::canary::kubeconfig_file(path).await?,
        None => match kube::Config::infer().await {
            Ok(config) => config,
            Err(e) => {
                tracing::info!(reason = %e, "no Kubernetes configuration: /stages/canary is disabled");
                return Ok(None);
            }
        },
    };
    let url = config.cluster_url.to_string();
    let client = kube::Client::try_from(config)
        .map_err(|e| anyhow::anyhow!("cannot build the Kubernetes client: {e}"))?;
    tracing::info!(cluster = %url, "Kubernetes canary stages enabled");
    Ok(Some(client))
}

/// `--accounts` (Kayenta's kayenta.yml) and/or `--prometheus-url` (one more metrics
/// account named `prometheus`, after those of the file).
fn load_accounts(file: Option<&Path>, prometheus_url: Option<&str>) -> anyhow::Result<Accounts> {
    let mut accounts = match file {
        Some(path) => Accounts::load(path).map_err(|e| anyhow::anyhow!("--accounts: {e}"))?,
        None => Accounts::default(),
    };
    if let Some(url) = prometheus_url {
        let prometheus =
            Accounts::prometheus(url).map_err(|e| anyhow::anyhow!("--prometheus-url: {e}"))?;
        for account in prometheus.metrics {
            if accounts.metrics.iter().any(|a| a.name == account.name) {
                bail!(
                    "--prometheus-url defines the metrics account '{}', which --accounts \
                     declares already",
                    account.name
                );
            }
            accounts.metrics.push(account);
        }
    }
    Ok(accounts)
}

/// The database kind for logs and errors: never the URL, which may hold a password.
fn scheme(database_url: &str) -> &str {
    match database_url.split_once(':') {
        Some((scheme @ ("sqlite" | "postgres" | "postgresql" | "memory"), _)) => scheme,
        _ => "configured",
    }
}

/// This host's name for the lease owner (`<uuid>@<hostname>`; a pod's name on Kubernetes).
fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// SIGTERM (Kubernetes, systemd) and SIGINT (Ctrl-C).
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
                int: signal(SignalKind::interrupt()).context("cannot handle SIGINT")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// The name of the next signal.
    async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn open_api_only_on_loopback() {
        for ok in [
            "127.0.0.1:8090",
            "127.1.2.3:0",
            "[::1]:8090",
            "[::ffff:127.0.0.1]:1",
        ] {
            assert!(check_exposure(addr(ok), false, false).is_ok(), "{ok}");
        }
        for public in [
            "0.0.0.0:8090",
            "[::]:8090",
            "10.0.0.5:80",
            "[::ffff:10.0.0.1]:1",
        ] {
            let err = check_exposure(addr(public), false, false)
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with(&format!("refusing to listen on {}", addr(public))),
                "{err}"
            );
            assert!(err.contains("KANARY_AUTH_TOKEN"), "{err}");
            assert!(err.contains("--allow-anonymous"), "{err}");
            assert!(check_exposure(addr(public), true, false).is_ok());
            assert!(check_exposure(addr(public), false, true).is_ok());
        }
    }

    #[test]
    fn token_from_file_or_env_trimmed_never_shown() {
        let dir = std::env::temp_dir().join(format!("kanary-serve-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "s3cret-token\n").unwrap();
        assert_eq!(
            auth_token(Some(&file), None).unwrap().as_deref(),
            Some("s3cret-token")
        );
        assert_eq!(
            auth_token(None, Some(" env-token ".into()))
                .unwrap()
                .as_deref(),
            Some("env-token")
        );
        assert_eq!(auth_token(None, None).unwrap(), None);

        let both = auth_token(Some(&file), Some("x".into()))
            .unwrap_err()
            .to_string();
        assert!(
            both.contains("both KANARY_AUTH_TOKEN and --auth-token-file"),
            "{both}"
        );
        let empty = auth_token(None, Some("  \n".into()))
            .unwrap_err()
            .to_string();
        assert_eq!(empty, "the auth token in KANARY_AUTH_TOKEN is empty");
        let spaced = auth_token(None, Some("two words".into()))
            .unwrap_err()
            .to_string();
        assert!(!spaced.contains("two words"), "{spaced}");
        let missing = auth_token(Some(&dir.join("nope")), None).unwrap_err();
        assert!(format!("{missing:#}").starts_with("--auth-token-file: cannot read"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn prometheus_url_appends_an_account_named_prometheus() {
        let accounts = load_accounts(None, Some("http://127.0.0.1:9090")).unwrap();
        let names: Vec<_> = accounts.metrics.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["prometheus"]);
        assert!(load_accounts(None, None).unwrap().metrics.is_empty());
        let bad = load_accounts(None, Some("not a url"))
            .unwrap_err()
            .to_string();
        assert!(bad.starts_with("--prometheus-url: "), "{bad}");
    }

    #[test]
    fn database_urls_are_never_logged() {
        assert_eq!(scheme("postgres://kanary:pw@db/kanary"), "postgres");
        assert_eq!(scheme("sqlite://kanary.db"), "sqlite");
        assert_eq!(scheme("memory:"), "memory");
        assert_eq!(scheme("user:pw@host"), "configured");
    }
}
