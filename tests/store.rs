//! The store contract: one suite, run against every implementation of `Store` — the
//! in-memory store, SQLite (a temporary file) and a real PostgreSQL (Debian's `postgresql`,
//! started by `support/postgres_server.rs`).
//!
//! Each behaviour is a generic async fn taking a [`Fixture`]; `contract!` turns it into one
//! test per backend (`memory::…`, `sqlite::…`, `postgres::…`). Times are the `now_ms` the
//! tests pass, so lease expiry is exact and nothing sleeps.
#![allow(clippy::unwrap_used)]

#[path = "support/postgres_server.rs"]
mod postgres_server;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kanary::store::{
    self, Execution, ExecutionKind, ExecutionQuery, ExecutionStatus, Lease, ObjectSummary,
    ObjectType, PutMode, Store, StoreError, StoredObject,
};
use postgres_server::PostgresServer;
use serde_json::{Value, json};

const LEASE: Duration = Duration::from_secs(10);
const LEASE_MS: i64 = 10_000;

// ---------------------------------------------------------------------------------------
// Fixtures

/// A store on a fresh database, and how to open another instance on the same database
/// (another replica, or the same process after a restart).
struct Fixture {
    // Dropped first: the store's connections go before the database they point at.
    store: Arc<dyn Store>,
    url: Option<String>,
    _sqlite_dir: Option<TempDir>,
    _postgres: Option<Arc<PostgresServer>>,
}

impl Fixture {
    async fn memory() -> Fixture {
        Fixture {
            store: store::open("memory:").await.unwrap(),
            url: None,
            _sqlite_dir: None,
            _postgres: None,
        }
    }

    async fn sqlite() -> Fixture {
        let dir = TempDir::new();
        let url = format!("sqlite://{}", dir.path.join("kanary.db").display());
        Fixture {
            store: store::open(&url).await.unwrap(),
            url: Some(url),
            _sqlite_dir: Some(dir),
            _postgres: None,
        }
    }

    async fn postgres() -> Fixture {
        let server = PostgresServer::shared();
        let url = server.create_database();
        Fixture {
            store: store::open(&url).await.unwrap(),
            url: Some(url),
            _sqlite_dir: None,
            _postgres: Some(server),
        }
    }

    /// Another instance on the same database: a second pool on SQL backends (another
    /// replica), the same store in memory (there is nothing to share otherwise).
    async fn another_instance(&self) -> Arc<dyn Store> {
        match &self.url {
            Some(url) => store::open(url).await.unwrap(),
            None => self.store.clone(),
        }
    }
}

/// A temporary directory, removed on drop (std only).
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "kanary-store-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// One test per behaviour and backend.
macro_rules! contract {
    ($backend:ident: $($behaviour:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    super::$behaviour(super::Fixture::$backend().await).await
                }
            )*
        }
    };
}

contract!(memory:
    objects_crud_and_modes,
    objects_keep_json_bodies,
    objects_list_most_recently_updated_first,
    executions_create_and_get,
    executions_list_filters_newest_first,
    claim_takes_the_oldest_claimable_first,
    claim_retakes_an_expired_lease_and_counts_attempts,
    renew_reports_held_cancel_requested_or_lost,
    complete_happens_exactly_once,
    request_cancel_by_status,
    concurrent_claimers_complete_every_execution_once,
);

contract!(sqlite:
    objects_crud_and_modes,
    objects_keep_json_bodies,
    objects_list_most_recently_updated_first,
    executions_create_and_get,
    executions_list_filters_newest_first,
    claim_takes_the_oldest_claimable_first,
    claim_retakes_an_expired_lease_and_counts_attempts,
    renew_reports_held_cancel_requested_or_lost,
    complete_happens_exactly_once,
    request_cancel_by_status,
    concurrent_claimers_complete_every_execution_once,
    everything_survives_a_restart,
);

contract!(postgres:
    objects_crud_and_modes,
    objects_keep_json_bodies,
    objects_list_most_recently_updated_first,
    executions_create_and_get,
    executions_list_filters_newest_first,
    claim_takes_the_oldest_claimable_first,
    claim_retakes_an_expired_lease_and_counts_attempts,
    renew_reports_held_cancel_requested_or_lost,
    complete_happens_exactly_once,
    request_cancel_by_status,
    concurrent_claimers_complete_every_execution_once,
    everything_survives_a_restart,
);

// ---------------------------------------------------------------------------------------
// Helpers

fn config(id: &str, name: &str, applications: &[&str], updated_ms: i64) -> StoredObject {
    StoredObject {
        id: id.to_string(),
        name: Some(name.to_string()),
        applications: applications.iter().map(|a| a.to_string()).collect(),
        body: json!({"name": name, "applications": applications, "metrics": []}),
        updated_ms,
    }
}

fn blob(id: &str, body: Value, updated_ms: i64) -> StoredObject {
    StoredObject {
        id: id.to_string(),
        name: None,
        applications: Vec::new(),
        body,
        updated_ms,
    }
}

fn execution(id: &str, kind: ExecutionKind, application: &str, created_ms: i64) -> Execution {
    Execution::new(
        id,
        kind,
        application,
        json!({"application": application, "id": id}),
        created_ms,
    )
}

fn canary(id: &str, created_ms: i64) -> Execution {
    execution(id, ExecutionKind::Canary, "app", created_ms)
}

fn ids(executions: &[Execution]) -> Vec<&str> {
    executions.iter().map(|e| e.id.as_str()).collect()
}

fn summary_ids(summaries: &[ObjectSummary]) -> Vec<&str> {
    summaries.iter().map(|s| s.id.as_str()).collect()
}

async fn list(store: &dyn Store, query: ExecutionQuery) -> Vec<Execution> {
    store.list_executions(&query).await.unwrap()
}

fn all() -> ExecutionQuery {
    ExecutionQuery {
        limit: 1000,
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------
// Objects

async fn objects_crud_and_modes(f: Fixture) {
    let s = f.store.as_ref();
    let kind = ObjectType::CanaryConfig;
    let first = config("c1", "latency", &["app-a", "app-b"], 1_000);

    assert_eq!(s.get_object(kind, "c1").await.unwrap(), None);
    s.put_object(kind, &first, PutMode::Create).await.unwrap();
    assert_eq!(s.get_object(kind, "c1").await.unwrap(), Some(first.clone()));

    // Create refuses an existing id and leaves the object alone.
    let other = config("c1", "other", &["x"], 2_000);
    assert!(matches!(
        s.put_object(kind, &other, PutMode::Create).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.get_object(kind, "c1").await.unwrap(), Some(first.clone()));

    // Update refuses a missing id and creates nothing.
    let missing = config("c2", "missing", &[], 2_000);
    assert!(matches!(
        s.put_object(kind, &missing, PutMode::Update).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(s.get_object(kind, "c2").await.unwrap(), None);

    // Update replaces every field.
    let renamed = config("c1", "renamed", &["app-c"], 3_000);
    s.put_object(kind, &renamed, PutMode::Update).await.unwrap();
    assert_eq!(
        s.get_object(kind, "c1").await.unwrap(),
        Some(renamed.clone())
    );

    // Upsert creates, then replaces (a name can go back to none).
    s.put_object(kind, &missing, PutMode::Upsert).await.unwrap();
    assert_eq!(
        s.get_object(kind, "c2").await.unwrap(),
        Some(missing.clone())
    );
    let unnamed = blob("c2", json!({"v": 2}), 4_000);
    s.put_object(kind, &unnamed, PutMode::Upsert).await.unwrap();
    assert_eq!(s.get_object(kind, "c2").await.unwrap(), Some(unnamed));

    // Types are separate namespaces.
    assert_eq!(
        s.get_object(ObjectType::MetricSetList, "c1").await.unwrap(),
        None
    );
    let metrics = blob("c1", json!([{"name": "m"}]), 5_000);
    s.put_object(ObjectType::MetricSetList, &metrics, PutMode::Create)
        .await
        .unwrap();
    assert_eq!(s.get_object(kind, "c1").await.unwrap(), Some(renamed));

    // Delete says whether there was something to delete.
    assert!(s.delete_object(kind, "c1").await.unwrap());
    assert!(!s.delete_object(kind, "c1").await.unwrap());
    assert_eq!(s.get_object(kind, "c1").await.unwrap(), None);
    assert_eq!(
        s.get_object(ObjectType::MetricSetList, "c1").await.unwrap(),
        Some(metrics)
    );
}

async fn objects_keep_json_bodies(f: Fixture) {
    let s = f.store.as_ref();
    // What Kayenta's archives hold: NaN as a string, floats that must round-trip exactly,
    // integers beyond 2^53, nulls inside arrays, non-ASCII, quotes and backslashes.
    let body = json!({
        "values": [0.1, 1.0e300, -2.5e-308, 0.30000000000000004, 5e-324, "NaN", "Infinity", null],
        "big": u64::MAX,
        "negative": i64::MIN,
        "text": "naïve \"quoted\" \\ back\u{1F600}slash\n",
        "nested": {"empty": {}, "list": [], "flag": false},
    });
    let object = blob("archive-1", body.clone(), 1);
    s.put_object(ObjectType::CanaryResultArchive, &object, PutMode::Create)
        .await
        .unwrap();
    let read = s
        .get_object(ObjectType::CanaryResultArchive, "archive-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.body, body);
    assert_eq!(
        serde_json::to_string(&read.body).unwrap(),
        serde_json::to_string(&body).unwrap()
    );
}

async fn objects_list_most_recently_updated_first(f: Fixture) {
    let s = f.store.as_ref();
    let kind = ObjectType::CanaryConfig;
    assert_eq!(s.list_objects(kind).await.unwrap(), Vec::new());
    for object in [
        config("b", "two", &["x"], 200),
        config("c", "three", &[], 300),
        config("a", "one", &["x", "y"], 100),
        // Same time as "b": ties go by id.
        config("B", "two-too", &[], 200),
    ] {
        s.put_object(kind, &object, PutMode::Create).await.unwrap();
    }
    s.put_object(
        ObjectType::MetricSetList,
        &blob("z", json!([]), 999),
        PutMode::Create,
    )
    .await
    .unwrap();

    let listed = s.list_objects(kind).await.unwrap();
    assert_eq!(summary_ids(&listed), ["c", "B", "b", "a"]);
    assert_eq!(
        listed[3],
        ObjectSummary {
            id: "a".into(),
            name: Some("one".into()),
            applications: vec!["x".into(), "y".into()],
            updated_ms: 100,
        }
    );

    // An update moves an object to the front.
    s.put_object(kind, &config("a", "one", &["x"], 400), PutMode::Update)
        .await
        .unwrap();
    assert_eq!(
        summary_ids(&s.list_objects(kind).await.unwrap()),
        ["a", "c", "B", "b"]
    );
    assert_eq!(
        summary_ids(&s.list_objects(ObjectType::MetricSetList).await.unwrap()),
        ["z"]
    );
}

// ---------------------------------------------------------------------------------------
// Executions

async fn executions_create_and_get(f: Fixture) {
    let s = f.store.as_ref();
    let mut e = execution("e1", ExecutionKind::Standalone, "checkout", 1_000);
    e.request = json!({"canaryConfig": {"name": "c", "metrics": [{"v": 0.1}]}, "scopes": null});
    assert_eq!(s.get_execution("e1").await.unwrap(), None);
    s.create_execution(&e).await.unwrap();
    assert_eq!(s.get_execution("e1").await.unwrap(), Some(e.clone()));

    let duplicate = canary("e1", 2_000);
    assert!(matches!(
        s.create_execution(&duplicate).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.get_execution("e1").await.unwrap(), Some(e));
}

async fn executions_list_filters_newest_first(f: Fixture) {
    let s = f.store.as_ref();
    let specs = [
        ("e1", ExecutionKind::Canary, "a", 100),
        ("e2", ExecutionKind::Standalone, "a", 200),
        ("e3", ExecutionKind::Canary, "b", 300),
        ("e4", ExecutionKind::Canary, "a", 400),
        ("e5", ExecutionKind::Standalone, "b", 500),
        // Same time as e4: the greater id first.
        ("e6", ExecutionKind::Canary, "a", 400),
    ];
    for (id, kind, app, created) in specs {
        s.create_execution(&execution(id, kind, app, created))
            .await
            .unwrap();
    }
    // e1 completes, e3 is canceled, e4 runs (claims take the oldest first).
    let e1 = s.claim("r", LEASE, 1_000).await.unwrap().unwrap();
    assert_eq!(e1.id, "e1");
    s.complete("e1", "r", ExecutionStatus::Succeeded, &json!({}), 1_001)
        .await
        .unwrap();
    s.request_cancel("e3", 1_002).await.unwrap();

    assert_eq!(
        ids(&list(s, all()).await),
        ["e5", "e6", "e4", "e3", "e2", "e1"]
    );
    let q = |f: &dyn Fn(&mut ExecutionQuery)| {
        let mut q = all();
        f(&mut q);
        q
    };
    assert_eq!(
        ids(&list(s, q(&|q| q.kind = Some(ExecutionKind::Canary))).await),
        ["e6", "e4", "e3", "e1"]
    );
    assert_eq!(
        ids(&list(s, q(&|q| q.application = Some("b".into()))).await),
        ["e5", "e3"]
    );
    assert_eq!(
        ids(&list(s, q(&|q| q.application = Some("nobody".into()))).await),
        Vec::<&str>::new()
    );
    assert_eq!(
        ids(&list(
            s,
            q(&|q| {
                q.statuses = vec![ExecutionStatus::Succeeded, ExecutionStatus::Canceled];
            })
        )
        .await),
        ["e3", "e1"]
    );
    assert_eq!(
        ids(&list(
            s,
            q(&|q| {
                q.kind = Some(ExecutionKind::Canary);
                q.application = Some("a".into());
                q.statuses = vec![ExecutionStatus::NotStarted];
            })
        )
        .await),
        ["e6", "e4"]
    );
    // Pages.
    let page = |limit, offset| {
        q(&move |q: &mut ExecutionQuery| {
            q.limit = limit;
            q.offset = offset;
        })
    };
    assert_eq!(ids(&list(s, page(2, 0)).await), ["e5", "e6"]);
    assert_eq!(ids(&list(s, page(2, 2)).await), ["e4", "e3"]);
    assert_eq!(ids(&list(s, page(10, 5)).await), ["e1"]);
    assert_eq!(ids(&list(s, page(10, 6)).await), Vec::<&str>::new());
    assert_eq!(ids(&list(s, page(0, 0)).await), Vec::<&str>::new());
    assert_eq!(
        ids(&list(s, page(usize::MAX, usize::MAX)).await),
        Vec::<&str>::new()
    );
    // Listed rows are whole rows.
    let listed = list(s, q(&|q| q.statuses = vec![ExecutionStatus::Succeeded])).await;
    assert_eq!(listed, vec![s.get_execution("e1").await.unwrap().unwrap()]);
}

async fn claim_takes_the_oldest_claimable_first(f: Fixture) {
    let s = f.store.as_ref();
    assert_eq!(s.claim("r1", LEASE, 1_000).await.unwrap(), None);
    for (id, created) in [("late", 300), ("early", 100), ("middle", 200), ("done", 50)] {
        s.create_execution(&canary(id, created)).await.unwrap();
    }
    s.request_cancel("done", 60).await.unwrap();

    let first = s.claim("r1", LEASE, 1_000).await.unwrap().unwrap();
    let mut expected = canary("early", 100);
    expected.status = ExecutionStatus::Running;
    expected.owner = Some("r1".into());
    expected.lease_expires_ms = Some(1_000 + LEASE_MS);
    expected.attempts = 1;
    expected.started_ms = Some(1_000);
    assert_eq!(first, expected);
    assert_eq!(s.get_execution("early").await.unwrap(), Some(expected));

    // A held lease is not claimable; the canceled one never is.
    let second = s.claim("r2", LEASE, 1_001).await.unwrap().unwrap();
    assert_eq!(
        (second.id.as_str(), second.owner.as_deref()),
        ("middle", Some("r2"))
    );
    let third = s.claim("r1", LEASE, 1_002).await.unwrap().unwrap();
    assert_eq!(third.id, "late");
    assert_eq!(s.claim("r3", LEASE, 1_003).await.unwrap(), None);
}

async fn claim_retakes_an_expired_lease_and_counts_attempts(f: Fixture) {
    let s = f.store.as_ref();
    s.create_execution(&canary("e", 1)).await.unwrap();
    let claimed = s.claim("dead", LEASE, 1_000).await.unwrap().unwrap();
    assert_eq!(claimed.lease_expires_ms, Some(11_000));

    // Held until the lease expires (expiry is inclusive: at 11 000 it is over).
    assert_eq!(s.claim("alive", LEASE, 10_999).await.unwrap(), None);
    let retaken = s.claim("alive", LEASE, 11_000).await.unwrap().unwrap();
    assert_eq!(retaken.id, "e");
    assert_eq!(retaken.owner.as_deref(), Some("alive"));
    assert_eq!(retaken.attempts, 2);
    assert_eq!(retaken.lease_expires_ms, Some(21_000));
    // Started when it was first claimed.
    assert_eq!(retaken.started_ms, Some(1_000));

    // The first owner comes back: it has lost the lease and cannot complete.
    assert_eq!(
        s.renew("e", "dead", LEASE, 11_001, Some(&json!({"stale": true})))
            .await
            .unwrap(),
        Lease::Lost
    );
    assert_eq!(
        s.complete("e", "dead", ExecutionStatus::Succeeded, &json!({}), 11_002)
            .await,
        Err(StoreError::LeaseLost("e".into()))
    );
    let state = json!({"result": "by alive"});
    s.complete("e", "alive", ExecutionStatus::Succeeded, &state, 12_000)
        .await
        .unwrap();
    let done = s.get_execution("e").await.unwrap().unwrap();
    assert_eq!(done.state, state);
    assert_eq!(done.attempts, 2);

    // A third claim after its expiry, then another: attempts keep counting.
    s.create_execution(&canary("f", 2)).await.unwrap();
    for attempt in 1..=3u32 {
        let now = 100_000 * i64::from(attempt);
        let c = s.claim("r", LEASE, now).await.unwrap().unwrap();
        assert_eq!((c.id.as_str(), c.attempts), ("f", attempt));
    }
}

async fn renew_reports_held_cancel_requested_or_lost(f: Fixture) {
    let s = f.store.as_ref();
    s.create_execution(&canary("e", 1)).await.unwrap();
    s.claim("r", LEASE, 1_000).await.unwrap().unwrap();

    // Held: the lease moves, the state is replaced when given and kept when not.
    let progress = json!({"stages": [{"refId": "fetch", "status": "SUCCEEDED"}]});
    assert_eq!(
        s.renew("e", "r", LEASE, 5_000, Some(&progress))
            .await
            .unwrap(),
        Lease::Held
    );
    let e = s.get_execution("e").await.unwrap().unwrap();
    assert_eq!((e.lease_expires_ms, &e.state), (Some(15_000), &progress));
    assert_eq!(
        s.renew("e", "r", LEASE, 14_000, None).await.unwrap(),
        Lease::Held
    );
    let e = s.get_execution("e").await.unwrap().unwrap();
    assert_eq!((e.lease_expires_ms, &e.state), (Some(24_000), &progress));
    // Renewing did not make it claimable.
    assert_eq!(s.claim("other", LEASE, 20_000).await.unwrap(), None);

    // Not the owner, or no such execution: lost, and nothing changes.
    assert_eq!(
        s.renew("e", "other", LEASE, 15_000, Some(&json!({})))
            .await
            .unwrap(),
        Lease::Lost
    );
    assert_eq!(
        s.renew("nope", "r", LEASE, 15_000, None).await.unwrap(),
        Lease::Lost
    );
    assert_eq!(s.get_execution("e").await.unwrap().unwrap(), e);

    // Cancel requested: still held (the runner stops and completes as canceled).
    assert_eq!(
        s.request_cancel("e", 16_000).await.unwrap(),
        Some(ExecutionStatus::Running)
    );
    assert_eq!(
        s.renew("e", "r", LEASE, 17_000, None).await.unwrap(),
        Lease::CancelRequested
    );

    // Expired (even unclaimed by anyone else): lost; the runner must not write.
    assert_eq!(
        s.renew("e", "r", LEASE, 27_000, Some(&json!({"late": 1})))
            .await
            .unwrap(),
        Lease::Lost
    );
    assert_eq!(s.get_execution("e").await.unwrap().unwrap().state, progress);

    // Completed: lost.
    s.create_execution(&canary("g", 2)).await.unwrap();
    let g = s.claim("r", LEASE, 30_000).await.unwrap().unwrap();
    assert_eq!(g.id, "e", "the expired one is older");
    let g = s.claim("r", LEASE, 30_000).await.unwrap().unwrap();
    assert_eq!(g.id, "g");
    s.complete("g", "r", ExecutionStatus::Terminal, &json!({}), 30_001)
        .await
        .unwrap();
    assert_eq!(
        s.renew("g", "r", LEASE, 30_002, None).await.unwrap(),
        Lease::Lost
    );
}

async fn complete_happens_exactly_once(f: Fixture) {
    let s = f.store.as_ref();
    s.create_execution(&canary("e", 1)).await.unwrap();
    assert_eq!(
        s.complete("nope", "r", ExecutionStatus::Succeeded, &json!({}), 1)
            .await,
        Err(StoreError::NotFound(
            "execution 'nope' does not exist".into()
        ))
    );
    // Not claimed: nobody holds it.
    assert_eq!(
        s.complete("e", "r", ExecutionStatus::Succeeded, &json!({}), 1)
            .await,
        Err(StoreError::LeaseLost("e".into()))
    );

    s.claim("r", LEASE, 1_000).await.unwrap().unwrap();
    assert_eq!(
        s.complete("e", "other", ExecutionStatus::Succeeded, &json!({}), 2_000)
            .await,
        Err(StoreError::LeaseLost("e".into()))
    );
    let result = json!({"result": {"judgeResult": {"score": 87.5}}});
    s.complete("e", "r", ExecutionStatus::Succeeded, &result, 2_000)
        .await
        .unwrap();
    let mut expected = canary("e", 1);
    expected.status = ExecutionStatus::Succeeded;
    expected.state = result.clone();
    expected.attempts = 1;
    expected.started_ms = Some(1_000);
    expected.ended_ms = Some(2_000);
    assert_eq!(s.get_execution("e").await.unwrap(), Some(expected.clone()));

    // Second completion, by the same owner or another: refused, nothing changes.
    for owner in ["r", "other"] {
        assert_eq!(
            s.complete(
                "e",
                owner,
                ExecutionStatus::Terminal,
                &json!({"again": 1}),
                3_000
            )
            .await,
            Err(StoreError::AlreadyComplete("e".into()))
        );
    }
    assert_eq!(s.get_execution("e").await.unwrap(), Some(expected));
    // Complete executions are never claimed again.
    assert_eq!(s.claim("r", LEASE, 1_000_000).await.unwrap(), None);
}

async fn request_cancel_by_status(f: Fixture) {
    let s = f.store.as_ref();
    assert_eq!(s.request_cancel("nope", 1).await.unwrap(), None);
    for (id, created) in [("running", 1), ("done", 2), ("failed", 3)] {
        s.create_execution(&canary(id, created)).await.unwrap();
    }
    // Claims go oldest first: running, done, failed.
    for _ in 0..3 {
        s.claim("r", LEASE, 100).await.unwrap().unwrap();
    }
    s.complete("done", "r", ExecutionStatus::Succeeded, &json!({}), 200)
        .await
        .unwrap();
    s.complete("failed", "r", ExecutionStatus::Terminal, &json!({}), 200)
        .await
        .unwrap();
    s.create_execution(&canary("fresh", 4)).await.unwrap();

    // NotStarted: canceled at once, never claimed.
    assert_eq!(
        s.request_cancel("fresh", 300).await.unwrap(),
        Some(ExecutionStatus::Canceled)
    );
    let fresh = s.get_execution("fresh").await.unwrap().unwrap();
    assert_eq!(
        (
            fresh.status,
            fresh.cancel_requested,
            fresh.ended_ms,
            fresh.owner
        ),
        (ExecutionStatus::Canceled, true, Some(300), None)
    );
    assert_eq!(s.claim("r2", LEASE, 300).await.unwrap(), None);

    // Running: flagged; it stays running for its runner to see.
    let before = s.get_execution("running").await.unwrap().unwrap();
    assert_eq!(
        s.request_cancel("running", 400).await.unwrap(),
        Some(ExecutionStatus::Running)
    );
    let after = s.get_execution("running").await.unwrap().unwrap();
    assert!(after.cancel_requested);
    assert_eq!(after.ended_ms, None);
    assert_eq!(
        Execution {
            cancel_requested: false,
            ..after
        },
        before
    );

    // Complete: left alone, its status returned.
    let done = s.get_execution("done").await.unwrap().unwrap();
    assert_eq!(
        s.request_cancel("done", 500).await.unwrap(),
        Some(ExecutionStatus::Succeeded)
    );
    assert_eq!(
        s.request_cancel("failed", 500).await.unwrap(),
        Some(ExecutionStatus::Terminal)
    );
    assert_eq!(s.get_execution("done").await.unwrap(), Some(done));
    // Cancelling twice is harmless.
    assert_eq!(
        s.request_cancel("fresh", 600).await.unwrap(),
        Some(ExecutionStatus::Canceled)
    );
    assert_eq!(
        s.get_execution("fresh").await.unwrap().unwrap().ended_ms,
        Some(300)
    );
}

/// Two instances (two pools, like two replicas) on one database, eight claimers split
/// between them, each claiming and completing until nothing is left: every execution is
/// claimed once and completed once.
async fn concurrent_claimers_complete_every_execution_once(f: Fixture) {
    const EXECUTIONS: usize = 200;
    const CLAIMERS: usize = 8;
    let replicas = [f.store.clone(), f.another_instance().await];
    for i in 0..EXECUTIONS {
        let created = i64::try_from(i).unwrap();
        replicas[i % 2]
            .create_execution(&canary(&format!("e{i:03}"), created))
            .await
            .unwrap();
    }

    let mut tasks = Vec::new();
    for claimer in 0..CLAIMERS {
        let store = replicas[claimer % 2].clone();
        tasks.push(tokio::spawn(async move {
            let owner = format!("claimer-{claimer}");
            let mut completed = Vec::new();
            // The same `now` for everyone: no lease expires, so a second claim of an
            // execution could only be a double claim.
            while let Some(e) = store.claim(&owner, LEASE, 1_000_000).await.unwrap() {
                assert_eq!((e.attempts, e.owner.as_deref()), (1, Some(owner.as_str())));
                store
                    .complete(
                        &e.id,
                        &owner,
                        ExecutionStatus::Succeeded,
                        &json!({"by": owner}),
                        1_000_001,
                    )
                    .await
                    .unwrap();
                completed.push(e.id);
            }
            (owner, completed)
        }));
    }
    let mut completed_by: BTreeMap<String, String> = BTreeMap::new();
    let mut total = 0;
    for task in tasks {
        let (owner, completed) = task.await.unwrap();
        total += completed.len();
        for id in completed {
            let previous = completed_by.insert(id.clone(), owner.clone());
            assert_eq!(previous, None, "{id} was completed twice");
        }
    }
    assert_eq!(total, EXECUTIONS);
    assert_eq!(completed_by.len(), EXECUTIONS);

    let stored = list(f.store.as_ref(), all()).await;
    assert_eq!(stored.len(), EXECUTIONS);
    for e in &stored {
        assert_eq!(e.status, ExecutionStatus::Succeeded, "{}", e.id);
        assert_eq!(e.attempts, 1, "{}", e.id);
        assert_eq!(e.state, json!({"by": completed_by[&e.id]}), "{}", e.id);
    }
}

/// The process stops and starts again on the same database: everything written is there,
/// and an execution whose lease expired while it was down is claimable again.
async fn everything_survives_a_restart(f: Fixture) {
    // Keep the database (the fixture's directory or server); stop only the store.
    let Fixture {
        store: s,
        url,
        _sqlite_dir,
        _postgres,
    } = f;
    let url = url.unwrap();
    let config = config("c", "latency", &["app"], 10);
    let archive = blob("a", json!({"complete": true, "v": [0.1, "NaN"]}), 20);
    s.put_object(ObjectType::CanaryConfig, &config, PutMode::Create)
        .await
        .unwrap();
    s.put_object(ObjectType::CanaryResultArchive, &archive, PutMode::Create)
        .await
        .unwrap();
    for (id, created) in [("running", 1), ("done", 2), ("waiting", 3)] {
        s.create_execution(&canary(id, created)).await.unwrap();
    }
    s.claim("before", LEASE, 1_000).await.unwrap().unwrap();
    s.claim("before", LEASE, 1_000).await.unwrap().unwrap();
    s.renew("running", "before", LEASE, 2_000, Some(&json!({"step": 1})))
        .await
        .unwrap();
    s.complete(
        "done",
        "before",
        ExecutionStatus::Succeeded,
        &json!({"ok": 1}),
        3_000,
    )
    .await
    .unwrap();
    drop(s);

    let s = store::open(&url).await.unwrap();
    assert_eq!(
        s.get_object(ObjectType::CanaryConfig, "c").await.unwrap(),
        Some(config)
    );
    assert_eq!(
        s.get_object(ObjectType::CanaryResultArchive, "a")
            .await
            .unwrap(),
        Some(archive)
    );
    let executions = list(s.as_ref(), all()).await;
    assert_eq!(ids(&executions), ["waiting", "done", "running"]);
    let done = s.get_execution("done").await.unwrap().unwrap();
    assert_eq!(
        (done.status, done.state, done.ended_ms),
        (ExecutionStatus::Succeeded, json!({"ok": 1}), Some(3_000))
    );
    let running = s.get_execution("running").await.unwrap().unwrap();
    assert_eq!(
        (
            running.status,
            running.owner.as_deref(),
            running.lease_expires_ms,
            running.state
        ),
        (
            ExecutionStatus::Running,
            Some("before"),
            Some(12_000),
            json!({"step": 1})
        )
    );

    // Still held by the replica that went down until its lease expires; then retaken.
    assert_eq!(
        s.claim("after", LEASE, 11_999).await.unwrap().map(|e| e.id),
        Some("waiting".into())
    );
    assert_eq!(s.claim("after", LEASE, 11_999).await.unwrap(), None);
    let retaken = s.claim("after", LEASE, 12_000).await.unwrap().unwrap();
    assert_eq!(
        (retaken.id.as_str(), retaken.attempts, retaken.state),
        ("running", 2, json!({"step": 1}))
    );
}

// ---------------------------------------------------------------------------------------
// Opening

#[tokio::test]
async fn memory_urls_open() {
    let s = store::open("memory:").await.unwrap();
    s.create_execution(&canary("e", 1)).await.unwrap();
    assert!(s.get_execution("e").await.unwrap().is_some());

    // A private SQLite database in memory keeps its data across calls (one connection).
    let s = store::open("sqlite::memory:").await.unwrap();
    s.create_execution(&canary("e", 1)).await.unwrap();
    for _ in 0..3 {
        assert!(s.get_execution("e").await.unwrap().is_some());
    }
}

#[tokio::test]
async fn unsupported_url_is_refused_without_its_password() {
    let Err(StoreError::Backend(message)) =
        store::open("mysql://kanary:s3cret@db.example/kanary").await
    else {
        panic!("expected a backend error");
    };
    assert!(message.contains("mysql://db.example/kanary"), "{message}");
    assert!(!message.contains("s3cret"), "{message}");
}

#[tokio::test]
async fn sqlite_file_is_created_in_wal_mode_and_reopened() {
    let dir = TempDir::new();
    let path = dir.path.join("new.db");
    let url = format!("sqlite://{}", path.display());
    assert!(!path.exists());
    let s = store::SqlStore::connect(&url).await.unwrap();
    assert!(path.exists());
    assert_eq!(s.database(), url);
    s.put_object(
        ObjectType::CanaryConfig,
        &config("c", "n", &[], 1),
        PutMode::Create,
    )
    .await
    .unwrap();
    s.close().await;

    use sqlx::Connection;
    let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    // The schema is versioned: version 1 applied once, however often the store opens.
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations")
        .fetch_all(&mut connection)
        .await
        .unwrap();
    assert_eq!(versions, [1]);
    connection.close().await.unwrap();

    let again = store::open(&url).await.unwrap();
    assert_eq!(
        summary_ids(&again.list_objects(ObjectType::CanaryConfig).await.unwrap()),
        ["c"]
    );
}

#[tokio::test]
async fn sqlite_in_a_missing_directory_is_a_backend_error_naming_it() {
    let dir = TempDir::new();
    let url = format!("sqlite://{}/missing/kanary.db", dir.path.display());
    let Err(StoreError::Backend(message)) = store::open(&url).await else {
        panic!("expected a backend error");
    };
    assert!(message.contains(&url), "{message}");
}

#[tokio::test]
async fn postgres_connection_refused_names_the_database_not_the_password() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://kanary:s3cret@127.0.0.1:{port}/kanary?password=s3cret");
    let Err(StoreError::Backend(message)) = store::open(&url).await else {
        panic!("expected a backend error");
    };
    assert!(
        message.contains(&format!("postgres://127.0.0.1:{port}/kanary")),
        "{message}"
    );
    assert!(!message.contains("s3cret"), "{message}");
}

#[tokio::test]
async fn postgres_missing_database_is_a_backend_error() {
    let server = PostgresServer::shared();
    let url = server.url("no_such_database");
    let Err(StoreError::Backend(message)) = store::open(&url).await else {
        panic!("expected a backend error");
    };
    assert!(message.contains("no_such_database"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replicas_starting_together_migrate_once() {
    let server = PostgresServer::shared();
    let url = server.create_database();
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { store::open(&url).await.map(|_| ()) })
        })
        .collect();
    for open in opens {
        open.await.unwrap().unwrap();
    }
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(&url).await.unwrap();
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations")
        .fetch_all(&mut connection)
        .await
        .unwrap();
    assert_eq!(versions, [1]);
    connection.close().await.unwrap();
}
