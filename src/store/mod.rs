//! The service's store: Kayenta's stored objects (canary configs, metric-set lists and
//! pair lists, result archives) and the executions the service runs.
//!
//! One [`Store`] trait, three implementations: [`MemoryStore`] (tests, `--database-url
//! memory:`), and SQL over SQLite (the default, one file) or PostgreSQL (several replicas
//! sharing the work) in `sql.rs`.
//!
//! Executions are claimed with a lease (owner, expiry) rather than a long transaction: a
//! replica heartbeats its lease while it runs an execution; a replica that dies stops
//! heartbeating, its lease expires, and another replica claims the execution again
//! (attempts are at least once). Completion is guarded by the store: the first
//! [`Store::complete`] of an execution wins, a second one is refused with
//! [`StoreError::AlreadyComplete`] (results are exactly one per execution).

mod memory;
mod sql;

pub use memory::MemoryStore;
pub use sql::SqlStore;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A boxed, sendable future (the store is used as a trait object).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Kayenta's stored object types (`StandardObjectType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ObjectType {
    /// `CANARY_CONFIG`
    CanaryConfig,
    /// `METRIC_SET_LIST`
    MetricSetList,
    /// `METRIC_SET_PAIR_LIST`
    MetricSetPairList,
    /// `CANARY_RESULT_ARCHIVE`
    CanaryResultArchive,
    /// `STANDALONE_CANARY_RESULT_ARCHIVE`
    StandaloneCanaryArchive,
}

impl ObjectType {
    /// Every type.
    pub const ALL: [ObjectType; 5] = [
        ObjectType::CanaryConfig,
        ObjectType::MetricSetList,
        ObjectType::MetricSetPairList,
        ObjectType::CanaryResultArchive,
        ObjectType::StandaloneCanaryArchive,
    ];

    /// The name stored in the database (Kayenta's group names).
    pub const fn as_str(self) -> &'static str {
        match self {
            ObjectType::CanaryConfig => "canary_config",
            ObjectType::MetricSetList => "metrics",
            ObjectType::MetricSetPairList => "metric_pairs",
            ObjectType::CanaryResultArchive => "canary_archive",
            ObjectType::StandaloneCanaryArchive => "standalone_canary_archive",
        }
    }

    /// The type of a stored name.
    pub fn parse(s: &str) -> Option<ObjectType> {
        ObjectType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// A stored object: its JSON body plus what listings need without reading the body.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredObject {
    /// The id (a UUID unless the client chose one).
    pub id: String,
    /// The config name (canary configs only).
    pub name: Option<String>,
    /// The applications (canary configs only).
    pub applications: Vec<String>,
    /// The JSON body, as the API returns it.
    pub body: Value,
    /// Last update, epoch milliseconds.
    pub updated_ms: i64,
}

/// What listings return.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectSummary {
    /// The id.
    pub id: String,
    /// The config name (canary configs only).
    pub name: Option<String>,
    /// The applications (canary configs only).
    pub applications: Vec<String>,
    /// Last update, epoch milliseconds.
    pub updated_ms: i64,
}

/// How [`Store::put_object`] treats an existing id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutMode {
    /// Fail with [`StoreError::Conflict`] if the id exists.
    Create,
    /// Fail with [`StoreError::NotFound`] if the id does not exist.
    Update,
    /// Create or replace.
    Upsert,
}

/// What an execution runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExecutionKind {
    /// `POST /canary`: one judgement.
    Canary,
    /// `POST /standalone_canary_analysis`: Kayenta's multi-interval analysis.
    Standalone,
    /// `POST /stages/canary`: the Kubernetes canary stage.
    Stage,
}

impl ExecutionKind {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ExecutionKind::Canary => "canary",
            ExecutionKind::Standalone => "standalone",
            ExecutionKind::Stage => "stage",
        }
    }

    /// The kind of a stored name.
    pub fn parse(s: &str) -> Option<ExecutionKind> {
        match s {
            "canary" => Some(ExecutionKind::Canary),
            "standalone" => Some(ExecutionKind::Standalone),
            "stage" => Some(ExecutionKind::Stage),
            _ => None,
        }
    }
}

/// Orca's execution statuses that kanary uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExecutionStatus {
    /// Waiting to be claimed.
    NotStarted,
    /// Claimed by a replica (which holds a lease).
    Running,
    /// Finished normally (a canary that failed its thresholds still SUCCEEDED).
    Succeeded,
    /// Failed: an error, or Kayenta's early fail of a standalone analysis.
    Terminal,
    /// Canceled by `PUT /pipelines/{id}/cancel`.
    Canceled,
}

impl ExecutionStatus {
    /// Orca's upper-case name (`executionStatus`).
    pub const fn as_upper(self) -> &'static str {
        match self {
            ExecutionStatus::NotStarted => "NOT_STARTED",
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Terminal => "TERMINAL",
            ExecutionStatus::Canceled => "CANCELED",
        }
    }

    /// The lower-case name (`status`) and the stored name.
    pub const fn as_lower(self) -> &'static str {
        match self {
            ExecutionStatus::NotStarted => "not_started",
            ExecutionStatus::Running => "running",
            ExecutionStatus::Succeeded => "succeeded",
            ExecutionStatus::Terminal => "terminal",
            ExecutionStatus::Canceled => "canceled",
        }
    }

    /// Parses either case.
    pub fn parse(s: &str) -> Option<ExecutionStatus> {
        [
            ExecutionStatus::NotStarted,
            ExecutionStatus::Running,
            ExecutionStatus::Succeeded,
            ExecutionStatus::Terminal,
            ExecutionStatus::Canceled,
        ]
        .into_iter()
        .find(|st| st.as_lower().eq_ignore_ascii_case(s))
    }

    /// Kayenta's `complete`: no more work will happen.
    pub const fn is_complete(self) -> bool {
        matches!(
            self,
            ExecutionStatus::Succeeded | ExecutionStatus::Terminal | ExecutionStatus::Canceled
        )
    }
}

/// An execution as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// The id (`canaryExecutionId`, `canaryAnalysisExecutionId`).
    pub id: String,
    /// What it runs.
    pub kind: ExecutionKind,
    /// The application it belongs to (listings filter on it).
    pub application: String,
    /// Where it is.
    pub status: ExecutionStatus,
    /// Everything needed to run it, and to answer `GET` about it: the config, the request,
    /// the resolved accounts, the query parameters. Written once, at creation.
    pub request: Value,
    /// Progress written while it runs (stage statuses, partial results), and the final
    /// response pieces once it is complete.
    pub state: Value,
    /// `PUT /pipelines/{id}/cancel` was called and the execution was not complete.
    pub cancel_requested: bool,
    /// The replica holding the lease, while running.
    pub owner: Option<String>,
    /// When the lease expires, epoch milliseconds.
    pub lease_expires_ms: Option<i64>,
    /// How many times it was claimed.
    pub attempts: u32,
    /// Created, epoch milliseconds.
    pub created_ms: i64,
    /// First claimed, epoch milliseconds.
    pub started_ms: Option<i64>,
    /// Completed, epoch milliseconds.
    pub ended_ms: Option<i64>,
}

impl Execution {
    /// A new, unclaimed execution.
    pub fn new(
        id: impl Into<String>,
        kind: ExecutionKind,
        application: impl Into<String>,
        request: Value,
        now_ms: i64,
    ) -> Self {
        Execution {
            id: id.into(),
            kind,
            application: application.into(),
            status: ExecutionStatus::NotStarted,
            request,
            state: Value::Object(Default::default()),
            cancel_requested: false,
            owner: None,
            lease_expires_ms: None,
            attempts: 0,
            created_ms: now_ms,
            started_ms: None,
            ended_ms: None,
        }
    }
}

/// Which executions [`Store::list_executions`] returns, newest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExecutionQuery {
    /// Only this kind.
    pub kind: Option<ExecutionKind>,
    /// Only this application.
    pub application: Option<String>,
    /// Only these statuses (empty: all).
    pub statuses: Vec<ExecutionStatus>,
    /// At most this many.
    pub limit: usize,
    /// Skip this many.
    pub offset: usize,
}

/// What a lease holder learns when it renews.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    /// Still held; go on.
    Held,
    /// Still held, and a cancel was requested: stop and complete as canceled.
    CancelRequested,
    /// Lost (expired and claimed by another replica, or completed): stop without writing.
    Lost,
}

/// Store failures.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// No such object or execution.
    #[error("{0}")]
    NotFound(String),
    /// The id exists already.
    #[error("{0}")]
    Conflict(String),
    /// The execution was completed already: this completion is refused.
    #[error("execution {0} is already complete")]
    AlreadyComplete(String),
    /// The caller does not hold the execution's lease.
    #[error("the lease on execution {0} is held by another replica or has expired")]
    LeaseLost(String),
    /// The database failed (connection, I/O, corrupt row).
    #[error("store error: {0}")]
    Backend(String),
}

/// The store. Times are passed in (epoch milliseconds) so that tests control them.
pub trait Store: Send + Sync {
    /// Writes an object (see [`PutMode`]).
    fn put_object<'a>(
        &'a self,
        kind: ObjectType,
        object: &'a StoredObject,
        mode: PutMode,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Reads an object.
    fn get_object<'a>(
        &'a self,
        kind: ObjectType,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredObject>, StoreError>>;

    /// Deletes an object; `false` when there was none.
    fn delete_object<'a>(
        &'a self,
        kind: ObjectType,
        id: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Lists the objects of a type, most recently updated first.
    fn list_objects<'a>(
        &'a self,
        kind: ObjectType,
    ) -> BoxFuture<'a, Result<Vec<ObjectSummary>, StoreError>>;

    /// Stores a new execution (status `NotStarted`); `Conflict` if the id exists.
    fn create_execution<'a>(
        &'a self,
        execution: &'a Execution,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Reads an execution.
    fn get_execution<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Execution>, StoreError>>;

    /// Lists executions, newest first.
    fn list_executions<'a>(
        &'a self,
        query: &'a ExecutionQuery,
    ) -> BoxFuture<'a, Result<Vec<Execution>, StoreError>>;

    /// Claims the oldest execution that is `NotStarted`, or `Running` with an expired
    /// lease (its replica died): sets `Running`, the owner, the lease, `attempts + 1`,
    /// `started_ms` if unset. Two replicas never claim the same execution at once.
    fn claim<'a>(
        &'a self,
        owner: &'a str,
        lease: Duration,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Option<Execution>, StoreError>>;

    /// Extends the lease and, when given, replaces the progress `state`.
    fn renew<'a>(
        &'a self,
        id: &'a str,
        owner: &'a str,
        lease: Duration,
        now_ms: i64,
        state: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<Lease, StoreError>>;

    /// Completes an execution held by `owner` with a final status and state. The first
    /// completion wins: a second is `AlreadyComplete`; a caller without the lease gets
    /// `LeaseLost`.
    fn complete<'a>(
        &'a self,
        id: &'a str,
        owner: &'a str,
        status: ExecutionStatus,
        state: &'a Value,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Cancels: a `NotStarted` execution becomes `Canceled` at once (returned status); a
    /// `Running` one gets `cancel_requested` (its runner sees it at the next renew); a
    /// complete one is left alone. `None` when there is no such execution.
    fn request_cancel<'a>(
        &'a self,
        id: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Option<ExecutionStatus>, StoreError>>;
}

/// Opens the store a `--database-url` names: `memory:` (nothing persists),
/// `sqlite://PATH` (created when missing; `sqlite::memory:` for a private in-memory
/// database) or `postgres://...` (several replicas share it).
pub async fn open(database_url: &str) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    match database_url {
        "memory:" => Ok(std::sync::Arc::new(MemoryStore::new())),
        // SqlStore refuses other schemes, naming the URL without user info or query.
        other => Ok(std::sync::Arc::new(SqlStore::connect(other).await?)),
    }
}

/// Milliseconds of a lease duration, saturating.
pub(crate) fn lease_ms(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX)
}
