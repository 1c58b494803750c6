//! `kanary serve`: Kayenta's REST API over axum.
//!
//! [`app`] builds the router from an [`AppState`]; [`serve`] runs it on a listener until
//! a shutdown future resolves. Tests call [`app`] with `tower::ServiceExt::oneshot`.

pub mod error;

mod auth;
mod canary;
mod config;
mod credentials;
mod health;
mod judges;
mod metrics;
mod stages;
mod standalone;
mod storage;

pub use error::{ApiError, ApiJson, QueryParams};
pub use metrics::Metrics;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::accounts::Accounts;
use crate::store::Store;

/// The default `--max-body`: 64 MiB (Kayenta accepts multi-megabyte pair lists).
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Server settings that handlers read.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// The largest request body accepted (413 above).
    pub max_body_bytes: usize,
    /// The bearer token every protected endpoint requires, if any.
    pub auth_token: Option<String>,
    /// Let requests without an `Authorization` header through (Argo Rollouts' Kayenta
    /// provider sends none); a wrong token is still refused.
    pub allow_anonymous: bool,
    /// This replica's name (lease owner), e.g. `<uuid>@<hostname>`.
    pub instance_id: String,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            auth_token: None,
            allow_anonymous: false,
            instance_id: format!("{}@localhost", uuid::Uuid::new_v4()),
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The accounts.
    pub accounts: Arc<Accounts>,
    /// Settings.
    pub settings: Arc<ServerSettings>,
    /// Woken when new work is stored, so that the executor claims it at once.
    pub wake: Arc<Notify>,
    /// What this replica measured (HTTP and executor), served by `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The Kubernetes API for `/stages/canary` (`None`: no cluster configured; the
    /// endpoint then says so).
    pub kube: Option<kube::Client>,
}

impl AppState {
    /// A state over `store` and `accounts` with default settings.
    pub fn new(store: Arc<dyn Store>, accounts: Accounts) -> Self {
        Self {
            store,
            accounts: Arc::new(accounts),
            settings: Arc::new(ServerSettings::default()),
            wake: Arc::new(Notify::new()),
            metrics: Arc::new(Metrics::new()),
            kube: None,
        }
    }

    /// The same state with a Kubernetes client for `/stages/canary`.
    pub fn with_kube(mut self, client: kube::Client) -> Self {
        self.kube = Some(client);
        self
    }
}

/// The whole API.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .merge(config::routes())
        .merge(canary::routes())
        .merge(standalone::routes())
        .merge(stages::routes())
        .merge(judges::routes())
        .merge(storage::routes())
        .merge(credentials::routes());
    let api = auth::protect(api, &state);
    let router = Router::new().merge(health::routes()).merge(api);
    metrics::instrument(router, &state)
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
        .with_state(state)
}

/// Serves [`app`] on `listener` until `shutdown` resolves, then lets in-flight requests
/// finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
