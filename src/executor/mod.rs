//! The background worker that runs stored executions: claims work with a lease,
//! heartbeats it, runs `/canary` judgements and standalone analyses, and completes each
//! exactly once. Being written: the skeleton only waits for shutdown.

use std::future::Future;

use crate::server::AppState;

/// Runs the worker until `shutdown` resolves.
pub async fn run(state: AppState, shutdown: impl Future<Output = ()> + Send) {
    let _ = state;
    shutdown.await;
}
