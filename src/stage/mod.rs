//! The Kubernetes canary stage: next to production's Deployment, a baseline (production's
//! pod template and image, freshly started) and a canary (the new image), equal in size;
//! wait for both; judge them at fixed intervals with [`crate::analysis::run`], failing
//! early; delete both, always; on a pass, optionally set production's image and wait for
//! its rollout.
//!
//! `kanary canary` runs it from the command line; `POST /stages/canary` runs it in the
//! service, persisted like the other executions. The API calls go through kube-rs; the
//! pure parts (the Deployments built, what a rollout status or a pod's state means) are in
//! [`resources`].
//!
//! Idempotent: the Deployments carry `app.kubernetes.io/managed-by=kanary`,
//! `kanary.io/target=<production>` and `kanary.io/run=<run id>`. A run finds them by those
//! labels: its own (a resumed run: the service restarted) are adopted, other runs'
//! (one that crashed) are deleted before anything is created.

mod driver;
pub mod resources;
mod spec;

pub use driver::{Stage, StageObserver, StageOutcome, run};
pub use spec::{
    DEFAULT_READY_TIMEOUT, DEFAULT_ROLLOUT_TIMEOUT, StagePhase, StageRequest, StageSpec,
    StageStatus, Verdict,
};

use crate::analysis::AnalysisError;

/// Why a stage could not reach a verdict.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The request or the production Deployment is unusable (names the field).
    #[error("{0}")]
    Invalid(String),
    /// The API refused for lack of permission: names the verb, the resource and the
    /// namespace, which is what a Role needs.
    #[error(
        "kanary may not {verb} {resource} in namespace {namespace}: {message} (give its service account a Role with '{verb}' on {resource}; see deploy/kanary.yaml)"
    )]
    Forbidden {
        /// The verb (get, list, watch, create, patch, delete).
        verb: String,
        /// `deployments.apps` or `pods`.
        resource: String,
        /// The namespace.
        namespace: String,
        /// The API server's message.
        message: String,
    },
    /// Another API failure.
    #[error("{0}")]
    Api(String),
    /// The baseline or canary cannot become available (a pod's reason), or production's
    /// rollout after the promotion cannot finish.
    #[error("{0}")]
    NotReady(String),
    /// Waited too long.
    #[error("{0}")]
    Timeout(String),
    /// The analysis could not run to its decision.
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    /// Someone canceled the stage.
    #[error("canceled")]
    Canceled,
}

/// An API error in words: 403s name the permission (a [`StageError::Forbidden`]), others
/// the operation and the server's message.
pub(crate) fn api_error(
    verb: &str,
    resource: &str,
    namespace: &str,
    name: Option<&str>,
    error: kube::Error,
) -> StageError {
    let what = match name {
        Some(name) => format!("{resource} {namespace}/{name}"),
        None => format!("{resource} in namespace {namespace}"),
    };
    match error {
        kube::Error::Api(status) if status.code == 403 => StageError::Forbidden {
            verb: verb.into(),
            resource: resource.into(),
            namespace: namespace.into(),
            message: status.message.clone(),
        },
        kube::Error::Api(status) => StageError::Api(format!(
            "cannot {verb} {what}: {} ({} {})",
            status.message, status.code, status.reason
        )),
        other => StageError::Api(format!("cannot {verb} {what}: {other}")),
    }
}
