//! The background worker that runs stored executions: claims work with a lease,
//! heartbeats it, runs `/canary` judgements and standalone analyses, and completes each
//! exactly once.
//!
//! Kayenta runs its pipelines on Orca's Redis queue; kanary keeps the part its clients
//! see (Kayenta's `ExecutionMapper` and `CanaryAnalysisService` responses, stage names,
//! `complete`/`status`, cancel) over the [`Store`](crate::store::Store)'s leases:
//!
//! - a replica claims the oldest unclaimed execution (or one whose lease expired: its
//!   replica died) with a lease, and renews the lease every third of it, writing the
//!   execution's progress with each renewal;
//! - a renewal that reports a cancel stops the run and completes it `CANCELED`; one that
//!   reports the lease lost stops it without writing (another replica has it now);
//! - the store accepts one completion per execution: a second is refused and logged;
//! - an execution claimed more than [`MAX_ATTEMPTS`] times (its replicas kept dying
//!   under it) is failed `TERMINAL` with the reason instead of retried forever.

mod canary;
pub mod model;
mod stage;
mod standalone;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::server::AppState;
use crate::store::{Execution, ExecutionKind, ExecutionStatus, Lease, StoreError};

pub use stage::StageRecord;
pub use standalone::plan_stages;

/// Claims after which an execution is failed instead of run again: its replica died
/// (or was restarted) under it this many times.
pub const MAX_ATTEMPTS: u32 = 3;

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The lease on a claimed execution; renewed every third of it.
    pub lease: Duration,
    /// How often the worker looks for work when nobody wakes it.
    pub poll: Duration,
    /// Executions run at once by this replica.
    pub concurrency: usize,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(15),
            poll: Duration::from_secs(1),
            concurrency: 8,
        }
    }
}

/// Runs the worker with [`WorkerOptions::default`] until `shutdown` resolves.
pub async fn run(state: AppState, shutdown: impl Future<Output = ()> + Send) {
    run_with(state, WorkerOptions::default(), shutdown).await;
}

/// Runs the worker until `shutdown` resolves.
///
/// On shutdown the worker stops claiming and drops the executions it is running without
/// completing them: they keep their lease until it expires, and then another replica, or
/// this one after its restart, claims them again and runs them from the start (a
/// standalone analysis keeps its original start time, so its windows do not move). Each
/// such resumption counts as an attempt (see [`MAX_ATTEMPTS`]).
pub async fn run_with(
    state: AppState,
    options: WorkerOptions,
    shutdown: impl Future<Output = ()> + Send,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    let mut running: JoinSet<()> = JoinSet::new();
    let concurrency = options.concurrency.max(1);
    let owner = state.settings.instance_id.clone();
    loop {
        while running.len() < concurrency {
            match state.store.claim(&owner, options.lease, now_ms()).await {
                Ok(Some(execution)) => {
                    tracing::info!(
                        execution = %execution.id,
                        kind = execution.kind.as_str(),
                        attempt = execution.attempts,
                        "claimed"
                    );
                    let span = tracing::info_span!(
                        "execution",
                        id = %execution.id,
                        kind = execution.kind.as_str()
                    );
                    running
                        .spawn(run_one(state.clone(), options.clone(), execution).instrument(span));
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming work failed; retrying");
                    break;
                }
            }
        }
        tokio::select! {
            () = &mut shutdown => break,
            () = state.wake.notified() => {}
            () = tokio::time::sleep(options.poll) => {}
            Some(_) = running.join_next(), if !running.is_empty() => {}
        }
    }
    let left = running.len();
    if left > 0 {
        tracing::info!(
            executions = left,
            "shutting down: running executions resume elsewhere when their lease expires"
        );
    }
    running.abort_all();
}

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Progress that a run publishes; the heartbeat writes it with each renewal, and at once
/// when it changes.
pub(crate) struct Progress {
    state: Mutex<Value>,
    changed: Notify,
}

impl Progress {
    fn new(state: Value) -> Self {
        Self {
            state: Mutex::new(state),
            changed: Notify::new(),
        }
    }

    /// Replaces the published state.
    pub(crate) fn publish(&self, state: Value) {
        if let Ok(mut guard) = self.state.lock() {
            *guard = state;
        }
        self.changed.notify_one();
    }

    fn snapshot(&self) -> Value {
        self.state
            .lock()
            .map(|g| g.clone())
            .unwrap_or(Value::Object(Default::default()))
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Why the heartbeat stopped a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Cancel,
    Lost,
}

/// How a run ended: the final status and state.
pub(crate) type Outcome = (ExecutionStatus, Value);

async fn run_one(state: AppState, options: WorkerOptions, execution: Execution) {
    let owner = state.settings.instance_id.clone();
    let id = execution.id.clone();
    let execution_kind = execution.kind;

    // A stage cleans up its Deployments itself: it is canceled by telling it, and runs
    // even when claimed canceled or given up (it then only deletes what it made).
    let cooperative = execution_kind == ExecutionKind::Stage;
    let outcome = if execution.cancel_requested && !cooperative {
        Some(canceled(&execution, execution.state.clone()))
    } else if execution.attempts > MAX_ATTEMPTS && !cooperative {
        Some(gave_up(&execution))
    } else {
        let progress = Arc::new(Progress::new(execution.state.clone()));
        let (stop_tx, mut stop_rx) = watch::channel(None::<Stop>);
        // Aborted when this run ends or is itself aborted (shutdown): a heartbeat that
        // outlived its run would hold the lease forever.
        let _heartbeat = AbortOnDrop(tokio::spawn(heartbeat(
            state.clone(),
            id.clone(),
            owner.clone(),
            options.lease,
            progress.clone(),
            stop_tx,
        )));
        let give_up = execution.attempts > MAX_ATTEMPTS;
        let (cancel_tx, cancel_rx) = watch::channel(execution.cancel_requested || give_up);
        let work = async {
            match execution.kind {
                ExecutionKind::Canary => canary::run(&state, &execution, &progress).await,
                ExecutionKind::Standalone => standalone::run(&state, &execution, &progress).await,
                ExecutionKind::Stage => {
                    let (status, final_state) =
                        stage::run(&state, &execution, &progress, cancel_rx).await;
                    if give_up {
                        gave_up_stage(&execution, final_state)
                    } else {
                        (status, final_state)
                    }
                }
            }
        };
        tokio::pin!(work);
        let stopped = async {
            loop {
                if let Some(stop) = *stop_rx.borrow_and_update() {
                    return stop;
                }
                if stop_rx.changed().await.is_err() {
                    // The heartbeat ended without a verdict (it never does): keep running.
                    std::future::pending::<()>().await;
                }
            }
        };
        let outcome = tokio::select! {
            outcome = &mut work => Some(outcome),
            stop = stopped => match stop {
                Stop::Cancel if cooperative => {
                    // The stage deletes its Deployments, then ends CANCELED itself.
                    let _ = cancel_tx.send(true);
                    Some(work.await)
                }
                Stop::Cancel => Some(canceled(&execution, progress.snapshot())),
                Stop::Lost => {
                    tracing::warn!(execution = %id, "lease lost; another replica has the execution");
                    None
                }
            },
        };
        outcome
    };

    let Some((status, final_state)) = outcome else {
        return;
    };
    match state
        .store
        .complete(&id, &owner, status, &final_state, now_ms())
        .await
    {
        Ok(()) => {
            tracing::info!(execution = %id, status = status.as_upper(), "completed");
            state.metrics.execution_completed(execution_kind, status);
            // Let the claim loop look again: a slot is free.
            state.wake.notify_one();
        }
        Err(e @ (StoreError::AlreadyComplete(_) | StoreError::LeaseLost(_))) => {
            tracing::warn!(execution = %id, error = %e, "completion refused; another replica completed it");
        }
        Err(e) => {
            tracing::error!(execution = %id, error = %e, "completing the execution failed; it is resumed when its lease expires");
        }
    }
}

/// Renews the lease every third of it (and at once when the progress changes), writing
/// the progress; tells the run to stop on a cancel or a lost lease.
async fn heartbeat(
    state: AppState,
    id: String,
    owner: String,
    lease: Duration,
    progress: Arc<Progress>,
    stop: watch::Sender<Option<Stop>>,
) {
    let every = (lease / 3).max(Duration::from_millis(10));
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = progress.changed.notified() => {}
        }
        let snapshot = progress.snapshot();
        match state
            .store
            .renew(&id, &owner, lease, now_ms(), Some(&snapshot))
            .await
        {
            Ok(Lease::Held) => {}
            Ok(Lease::CancelRequested) => {
                let _ = stop.send(Some(Stop::Cancel));
                return;
            }
            Ok(Lease::Lost) => {
                let _ = stop.send(Some(Stop::Lost));
                return;
            }
            // A failed renewal is retried at the next beat; if the lease runs out
            // meanwhile the store says Lost then.
            Err(e) => tracing::warn!(execution = %id, error = %e, "renewing the lease failed"),
        }
    }
}

/// The final state of a canceled execution: running stages become canceled (Orca's
/// `CancelStageHandler`).
fn canceled(execution: &Execution, state: Value) -> Outcome {
    let state = match execution.kind {
        ExecutionKind::Canary => {
            let mut s: model::CanaryState = serde_json::from_value(state).unwrap_or_default();
            s.finish_running("canceled");
            to_value(&s)
        }
        ExecutionKind::Standalone => {
            let mut s: model::StandaloneState = serde_json::from_value(state).unwrap_or_default();
            s.finish_running("CANCELED");
            to_value(&s)
        }
        // Not reached: a stage ends canceled by itself (see `run_one`).
        ExecutionKind::Stage => state,
    };
    (ExecutionStatus::Canceled, state)
}

/// The final state of an execution whose replicas kept dying under it.
fn gave_up(execution: &Execution) -> Outcome {
    let reason = format!(
        "The execution was interrupted {} times (the replica running it stopped before it finished); kanary does not retry it again.",
        execution.attempts.saturating_sub(1)
    );
    tracing::error!(execution = %execution.id, attempts = execution.attempts, "giving up");
    let exception = model::exception(
        "ExecutionInterruptedException",
        "Execution interrupted",
        std::slice::from_ref(&reason),
    );
    let state = match execution.kind {
        ExecutionKind::Canary => {
            let mut s: model::CanaryState =
                serde_json::from_value(execution.state.clone()).unwrap_or_default();
            s.finish_running("terminal");
            s.exception = Some(exception);
            to_value(&s)
        }
        ExecutionKind::Standalone => {
            let mut s: model::StandaloneState =
                serde_json::from_value(execution.state.clone()).unwrap_or_default();
            s.finish_running("TERMINAL");
            s.exception = Some(exception);
            to_value(&s)
        }
        ExecutionKind::Stage => return gave_up_stage(execution, execution.state.clone()),
    };
    (ExecutionStatus::Terminal, state)
}

/// A stage given up after its cleanup ran: failed, with the reason.
fn gave_up_stage(execution: &Execution, state: Value) -> Outcome {
    let reason = format!(
        "The stage was interrupted {} times (the replica running it stopped before it finished); kanary deleted its Deployments and does not retry it again.",
        execution.attempts.saturating_sub(1)
    );
    tracing::error!(execution = %execution.id, attempts = execution.attempts, "giving up");
    let mut s: crate::stage::StageStatus = serde_json::from_value(state).unwrap_or_default();
    s.phase = crate::stage::StagePhase::Failed;
    s.error = Some(reason.clone());
    s.message = Some(reason);
    (ExecutionStatus::Terminal, to_value(&s))
}

/// Serializes a state (these types always serialize).
pub(crate) fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}
