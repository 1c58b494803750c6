//! The in-memory store: one process, nothing survives a restart. For tests and for
//! `--database-url memory:` (Kayenta has an in-memory store too).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use super::{
    BoxFuture, Execution, ExecutionQuery, ExecutionStatus, Lease, ObjectSummary, ObjectType,
    PutMode, Store, StoreError, StoredObject, lease_ms,
};

/// The in-memory store.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    objects: BTreeMap<(ObjectType, String), StoredObject>,
    executions: BTreeMap<String, Execution>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> Result<T, StoreError> {
        let mut guard = self
            .inner
            .lock()
            .map_err(|_| StoreError::Backend("the in-memory store was poisoned".into()))?;
        Ok(f(&mut guard))
    }
}

fn ready<'a, T: Send + 'a>(value: T) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(value))
}

impl Store for MemoryStore {
    fn put_object<'a>(
        &'a self,
        kind: ObjectType,
        object: &'a StoredObject,
        mode: PutMode,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        ready(
            self.with(|inner| {
                let key = (kind, object.id.clone());
                let exists = inner.objects.contains_key(&key);
                match (mode, exists) {
                    (PutMode::Create, true) => {
                        return Err(StoreError::Conflict(format!(
                            "{} '{}' already exists",
                            kind.as_str(),
                            object.id
                        )));
                    }
                    (PutMode::Update, false) => {
                        return Err(StoreError::NotFound(format!(
                            "{} '{}' does not exist",
                            kind.as_str(),
                            object.id
                        )));
                    }
                    _ => {}
                }
                inner.objects.insert(key, object.clone());
                Ok(())
            })
            .and_then(|r| r),
        )
    }

    fn get_object<'a>(
        &'a self,
        kind: ObjectType,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredObject>, StoreError>> {
        ready(self.with(|inner| inner.objects.get(&(kind, id.to_string())).cloned()))
    }

    fn delete_object<'a>(
        &'a self,
        kind: ObjectType,
        id: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        ready(self.with(|inner| inner.objects.remove(&(kind, id.to_string())).is_some()))
    }

    fn list_objects<'a>(
        &'a self,
        kind: ObjectType,
    ) -> BoxFuture<'a, Result<Vec<ObjectSummary>, StoreError>> {
        ready(self.with(|inner| {
            let mut list: Vec<ObjectSummary> = inner
                .objects
                .iter()
                .filter(|((k, _), _)| *k == kind)
                .map(|(_, o)| ObjectSummary {
                    id: o.id.clone(),
                    name: o.name.clone(),
                    applications: o.applications.clone(),
                    updated_ms: o.updated_ms,
                })
                .collect();
            list.sort_by(|a, b| b.updated_ms.cmp(&a.updated_ms).then(a.id.cmp(&b.id)));
            list
        }))
    }

    fn create_execution<'a>(
        &'a self,
        execution: &'a Execution,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        ready(
            self.with(|inner| {
                if inner.executions.contains_key(&execution.id) {
                    return Err(StoreError::Conflict(format!(
                        "execution '{}' already exists",
                        execution.id
                    )));
                }
                inner
                    .executions
                    .insert(execution.id.clone(), execution.clone());
                Ok(())
            })
            .and_then(|r| r),
        )
    }

    fn get_execution<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Execution>, StoreError>> {
        ready(self.with(|inner| inner.executions.get(id).cloned()))
    }

    fn list_executions<'a>(
        &'a self,
        query: &'a ExecutionQuery,
    ) -> BoxFuture<'a, Result<Vec<Execution>, StoreError>> {
        ready(self.with(|inner| {
            let mut list: Vec<&Execution> = inner
                .executions
                .values()
                .filter(|e| query.kind.is_none_or(|k| e.kind == k))
                .filter(|e| {
                    query
                        .application
                        .as_deref()
                        .is_none_or(|a| e.application == a)
                })
                .filter(|e| query.statuses.is_empty() || query.statuses.contains(&e.status))
                .collect();
            list.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then(b.id.cmp(&a.id)));
            list.into_iter()
                .skip(query.offset)
                .take(query.limit)
                .cloned()
                .collect()
        }))
    }

    fn claim<'a>(
        &'a self,
        owner: &'a str,
        lease: Duration,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Option<Execution>, StoreError>> {
        ready(self.with(|inner| {
            let claimable = |e: &&Execution| match e.status {
                ExecutionStatus::NotStarted => true,
                ExecutionStatus::Running => e.lease_expires_ms.is_none_or(|t| t <= now_ms),
                _ => false,
            };
            let id = inner
                .executions
                .values()
                .filter(claimable)
                .min_by(|a, b| a.created_ms.cmp(&b.created_ms).then(a.id.cmp(&b.id)))
                .map(|e| e.id.clone())?;
            let e = inner.executions.get_mut(&id)?;
            e.status = ExecutionStatus::Running;
            e.owner = Some(owner.to_string());
            e.lease_expires_ms = Some(now_ms.saturating_add(lease_ms(lease)));
            e.attempts = e.attempts.saturating_add(1);
            e.started_ms.get_or_insert(now_ms);
            Some(e.clone())
        }))
    }

    fn renew<'a>(
        &'a self,
        id: &'a str,
        owner: &'a str,
        lease: Duration,
        now_ms: i64,
        state: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<Lease, StoreError>> {
        ready(self.with(|inner| {
            let Some(e) = inner.executions.get_mut(id) else {
                return Lease::Lost;
            };
            let held = e.status == ExecutionStatus::Running
                && e.owner.as_deref() == Some(owner)
                && e.lease_expires_ms.is_some_and(|t| t > now_ms);
            if !held {
                return Lease::Lost;
            }
            e.lease_expires_ms = Some(now_ms.saturating_add(lease_ms(lease)));
            if let Some(state) = state {
                e.state = state.clone();
            }
            if e.cancel_requested {
                Lease::CancelRequested
            } else {
                Lease::Held
            }
        }))
    }

    fn complete<'a>(
        &'a self,
        id: &'a str,
        owner: &'a str,
        status: ExecutionStatus,
        state: &'a Value,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        ready(
            self.with(|inner| {
                let Some(e) = inner.executions.get_mut(id) else {
                    return Err(StoreError::NotFound(format!(
                        "execution '{id}' does not exist"
                    )));
                };
                if e.status.is_complete() {
                    return Err(StoreError::AlreadyComplete(id.to_string()));
                }
                if e.owner.as_deref() != Some(owner) {
                    return Err(StoreError::LeaseLost(id.to_string()));
                }
                e.status = status;
                e.state = state.clone();
                e.ended_ms = Some(now_ms);
                e.owner = None;
                e.lease_expires_ms = None;
                Ok(())
            })
            .and_then(|r| r),
        )
    }

    fn request_cancel<'a>(
        &'a self,
        id: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Option<ExecutionStatus>, StoreError>> {
        ready(self.with(|inner| {
            let e = inner.executions.get_mut(id)?;
            match e.status {
                ExecutionStatus::NotStarted => {
                    e.status = ExecutionStatus::Canceled;
                    e.cancel_requested = true;
                    e.ended_ms = Some(now_ms);
                }
                ExecutionStatus::Running => e.cancel_requested = true,
                _ => {}
            }
            Some(e.status)
        }))
    }
}
