//! The SQL store: SQLite (the default, one file) or PostgreSQL (several replicas sharing one
//! database), with sqlx's runtime query API.
//!
//! One SQL text serves both backends wherever the dialects agree: sqlx-sqlite binds `$N`
//! parameters by number (its `SqliteArguments::bind` reads the number after `$`), so the
//! PostgreSQL placeholders work unchanged, and a small [`on_pool!`] dispatch runs the same
//! statement on whichever pool this store holds. sqlx's `Any` driver was the alternative; it
//! needs one more feature, narrows the types to a common subset at run time, and still
//! cannot express what differs (`FOR UPDATE SKIP LOCKED`, `COLLATE "C"`), which would need a
//! branch on the backend anyway. What differs is spelled out next to each statement.
//!
//! Concurrency is the database's: every state change of an execution is a single
//! conditional `UPDATE` whose `WHERE` says what must still be true (claimable, held by the
//! caller, not complete), so two replicas racing on one row cannot both succeed. PostgreSQL
//! (READ COMMITTED) re-checks the `WHERE` of a blocked `UPDATE` against the row the winner
//! committed; SQLite runs one writer at a time. Times are the `now_ms` the caller passes,
//! never the database clock, so tests control them.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde_json::Value;
use sqlx::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Row};

use super::{
    BoxFuture, Execution, ExecutionKind, ExecutionQuery, ExecutionStatus, Lease, ObjectSummary,
    ObjectType, PutMode, Store, StoreError, StoredObject, lease_ms,
};

/// How long a SQLite connection waits for another writer (another connection of this pool,
/// or another process on the same file) before giving up with "database is locked". Writes
/// are single short statements, so a wait this long means something is wrong.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections per pool. SQLite serialises writers anyway (WAL lets readers run alongside);
/// PostgreSQL's default `max_connections` is 100, shared by the replicas.
const SQLITE_MAX_CONNECTIONS: u32 = 8;
const POSTGRES_MAX_CONNECTIONS: u32 = 10;

/// The store over SQLite or PostgreSQL. Cheap to share: it holds a connection pool.
pub struct SqlStore {
    pool: Pool,
    /// The URL without user info or query (which may carry a password), for messages.
    database: String,
}

enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlStore")
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

/// Runs `$body` with `$p` bound to the SQLite or the PostgreSQL pool: the body is written
/// once and compiled for each backend.
macro_rules! on_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            Pool::Sqlite($p) => $body,
            Pool::Postgres($p) => $body,
        }
    };
}

impl SqlStore {
    /// Opens `sqlite://PATH` (the file is created when missing), `sqlite::memory:` (a private
    /// in-memory database) or `postgres://...` / `postgresql://...`, and creates or migrates
    /// the schema. Several replicas may open one PostgreSQL database at once: the migration
    /// runs under an advisory lock.
    pub async fn connect(url: &str) -> Result<SqlStore, StoreError> {
        let database = redact_url(url);
        let pool = if url.starts_with("sqlite:") {
            Pool::Sqlite(connect_sqlite(url, &database).await?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Pool::Postgres(connect_postgres(url, &database).await?)
        } else {
            return Err(StoreError::Backend(format!(
                "unsupported database URL '{database}': use memory:, sqlite://PATH or postgres://..."
            )));
        };
        Ok(SqlStore { pool, database })
    }

    /// The database, as messages name it (the URL without user info and query).
    pub fn database(&self) -> &str {
        &self.database
    }

    /// Closes the connections (waiting for the ones in use to be returned). Later calls fail
    /// with a backend error.
    pub async fn close(&self) {
        on_pool!(&self.pool, |p| p.close().await)
    }

    fn backend_error(&self, error: sqlx::Error) -> StoreError {
        StoreError::Backend(format!("database {}: {error}", self.database))
    }

    fn corrupt(&self, what: String) -> StoreError {
        StoreError::Backend(format!("database {}: {what}", self.database))
    }
}

async fn connect_sqlite(url: &str, database: &str) -> Result<SqlitePool, StoreError> {
    let cannot_open = |error: &dyn fmt::Display| {
        StoreError::Backend(format!("cannot open database {database}: {error}"))
    };
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| cannot_open(&e))?
        .create_if_missing(true)
        // WAL: readers do not block the writer nor the writer the readers. NORMAL is the
        // synchronous level SQLite recommends with WAL: a crash of kanary loses nothing, a
        // power loss may lose the last commits (an execution then runs again: attempts are
        // at least once), and the file is never corrupt.
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(SQLITE_BUSY_TIMEOUT);
    // `sqlite::memory:` is one database per connection set, alive while a connection is
    // open: one connection that is never closed, so nothing disappears between calls.
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let pool_options = if in_memory {
        SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        SqlitePoolOptions::new().max_connections(SQLITE_MAX_CONNECTIONS)
    };
    let pool = pool_options
        .connect_with(options)
        .await
        .map_err(|e| cannot_open(&e))?;
    migrate_sqlite(&pool, database).await?;
    Ok(pool)
}

async fn connect_postgres(url: &str, database: &str) -> Result<PgPool, StoreError> {
    let cannot_open = |error: &dyn fmt::Display| {
        StoreError::Backend(format!("cannot connect to database {database}: {error}"))
    };
    let options = PgConnectOptions::from_str(url).map_err(|e| cannot_open(&e))?;
    // One plain connection first: a pool retries a refused connection until its acquire
    // timeout and then reports only "timed out"; this reports the cause at once.
    let connection = options.connect().await.map_err(|e| cannot_open(&e))?;
    // Closing politely is a courtesy: if it fails the server drops the session anyway.
    let _ = connection.close().await;
    let pool = PgPoolOptions::new()
        .max_connections(POSTGRES_MAX_CONNECTIONS)
        .connect_with(options)
        .await
        .map_err(|e| cannot_open(&e))?;
    migrate_postgres(&pool, database).await?;
    Ok(pool)
}

// ---------------------------------------------------------------------------------------
// Schema

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// One schema version. Versions are applied in order and recorded (with a checksum) in
/// sqlx's `_sqlx_migrations` table, so an applied version is never re-run and an edited one
/// is refused: add a new version rather than editing one. Both backends have the same
/// versions; their SQL differs only in types and collations.
struct Step {
    version: i64,
    description: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Step] = &[Step {
    version: 1,
    description: "objects and executions",
    sqlite: include_str!("migrations/sqlite/0001_objects_and_executions.sql"),
    postgres: include_str!("migrations/postgres/0001_objects_and_executions.sql"),
}];

/// The embedded migrations of one backend, as sqlx's migrator reads them.
#[derive(Debug)]
struct Embedded(Backend);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(self) -> BoxFuture<'s, Result<Vec<Migration>, sqlx::error::BoxDynError>> {
        let migrations = MIGRATIONS
            .iter()
            .map(|step| {
                let sql = match self.0 {
                    Backend::Sqlite => step.sqlite,
                    Backend::Postgres => step.postgres,
                };
                Migration::new(
                    step.version,
                    Cow::Borrowed(step.description),
                    MigrationType::Simple,
                    Cow::Borrowed(sql),
                    false,
                )
            })
            .collect();
        Box::pin(std::future::ready(Ok(migrations)))
    }
}

// Two functions on concrete pools rather than one generic over `sqlx::Acquire` (or one on a
// `&mut PgConnection`): those futures are not `Send` for every lifetime (a known sqlx
// limitation), and `open` must be spawnable. On PostgreSQL the migrator holds an advisory
// lock while it runs, so replicas starting together migrate one after the other.
async fn migrate_sqlite(pool: &SqlitePool, database: &str) -> Result<(), StoreError> {
    let migrator = migrator(Backend::Sqlite, database).await?;
    migrator
        .run(pool)
        .await
        .map_err(|e| migrate_failed(e, database))
}

async fn migrate_postgres(pool: &PgPool, database: &str) -> Result<(), StoreError> {
    let migrator = migrator(Backend::Postgres, database).await?;
    migrator
        .run(pool)
        .await
        .map_err(|e| migrate_failed(e, database))
}

async fn migrator(backend: Backend, database: &str) -> Result<Migrator, StoreError> {
    Migrator::new(Embedded(backend))
        .await
        .map_err(|e| migrate_failed(e, database))
}

fn migrate_failed(error: MigrateError, database: &str) -> StoreError {
    StoreError::Backend(format!(
        "cannot create or migrate the schema of database {database}: {error}"
    ))
}

// ---------------------------------------------------------------------------------------
// Rows

/// Reading a column of a SQLite or a PostgreSQL row, with the column named on failure.
trait Columns {
    fn text(&self, column: &str) -> Result<String, sqlx::Error>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error>;
    fn int(&self, column: &str) -> Result<i64, sqlx::Error>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error>;
    fn flag(&self, column: &str) -> Result<bool, sqlx::Error>;
}

macro_rules! impl_columns {
    ($($row:ty),*) => {$(
        impl Columns for $row {
            fn text(&self, column: &str) -> Result<String, sqlx::Error> {
                self.try_get(column)
            }
            fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
                self.try_get(column)
            }
            fn int(&self, column: &str) -> Result<i64, sqlx::Error> {
                self.try_get(column)
            }
            fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
                self.try_get(column)
            }
            fn flag(&self, column: &str) -> Result<bool, sqlx::Error> {
                self.try_get(column)
            }
        }
    )*};
}

impl_columns!(SqliteRow, PgRow);

/// The columns of `executions`, in the order the rows are read.
macro_rules! execution_columns {
    () => {
        "id, kind, application, status, request, state, cancel_requested, owner, \
         lease_expires_ms, attempts, created_ms, started_ms, ended_ms"
    };
}

/// A row that is not what kanary wrote (edited by hand, or by a newer kanary).
#[derive(Debug)]
enum RowError {
    Sql(sqlx::Error),
    Corrupt(String),
}

impl From<sqlx::Error> for RowError {
    fn from(error: sqlx::Error) -> Self {
        RowError::Sql(error)
    }
}

fn json_column(row: &impl Columns, column: &str, id: &str) -> Result<Value, RowError> {
    let text = row.text(column)?;
    serde_json::from_str(&text)
        .map_err(|e| RowError::Corrupt(format!("{column} of '{id}' is not JSON: {e}")))
}

fn execution_from_row(row: &impl Columns) -> Result<Execution, RowError> {
    let id = row.text("id")?;
    let kind = row.text("kind")?;
    let status = row.text("status")?;
    let attempts = row.int("attempts")?;
    Ok(Execution {
        kind: ExecutionKind::parse(&kind).ok_or_else(|| {
            RowError::Corrupt(format!("execution '{id}' has an unknown kind '{kind}'"))
        })?,
        application: row.text("application")?,
        status: ExecutionStatus::parse(&status).ok_or_else(|| {
            RowError::Corrupt(format!("execution '{id}' has an unknown status '{status}'"))
        })?,
        request: json_column(row, "request", &id)?,
        state: json_column(row, "state", &id)?,
        cancel_requested: row.flag("cancel_requested")?,
        owner: row.opt_text("owner")?,
        lease_expires_ms: row.opt_int("lease_expires_ms")?,
        attempts: u32::try_from(attempts)
            .map_err(|_| RowError::Corrupt(format!("execution '{id}' has {attempts} attempts")))?,
        created_ms: row.int("created_ms")?,
        started_ms: row.opt_int("started_ms")?,
        ended_ms: row.opt_int("ended_ms")?,
        id,
    })
}

fn applications_column(row: &impl Columns, id: &str) -> Result<Vec<String>, RowError> {
    let text = row.text("applications")?;
    serde_json::from_str(&text).map_err(|e| {
        RowError::Corrupt(format!(
            "applications of '{id}' are not a JSON list of strings: {e}"
        ))
    })
}

fn summary_from_row(row: &impl Columns) -> Result<ObjectSummary, RowError> {
    let id = row.text("id")?;
    Ok(ObjectSummary {
        name: row.opt_text("name")?,
        applications: applications_column(row, &id)?,
        updated_ms: row.int("updated_ms")?,
        id,
    })
}

fn object_from_row(row: &impl Columns) -> Result<StoredObject, RowError> {
    let id = row.text("id")?;
    Ok(StoredObject {
        name: row.opt_text("name")?,
        applications: applications_column(row, &id)?,
        body: json_column(row, "body", &id)?,
        updated_ms: row.int("updated_ms")?,
        id,
    })
}

impl SqlStore {
    fn row_error(&self, error: RowError) -> StoreError {
        match error {
            RowError::Sql(e) => self.backend_error(e),
            RowError::Corrupt(what) => self.corrupt(what),
        }
    }

    fn to_json(&self, value: &Value) -> Result<String, StoreError> {
        // A `Value` always serialises (its map keys are strings); this is defensive.
        serde_json::to_string(value).map_err(|e| self.corrupt(format!("cannot write JSON: {e}")))
    }
}

// ---------------------------------------------------------------------------------------
// Statements

/// The statuses after which no more work happens (`ExecutionStatus::is_complete`); a test
/// below keeps the two in step.
macro_rules! complete_statuses {
    () => {
        "('succeeded', 'terminal', 'canceled')"
    };
}

/// An execution a replica may claim: never started, or running under a lease that expired
/// at or before `$3` (now). Repeated in the outer `UPDATE` of the claim so that, on
/// PostgreSQL, an `UPDATE` that waited for a concurrent claim of the same row re-checks it
/// against the committed row and matches nothing.
macro_rules! claimable {
    () => {
        "status IN ('not_started', 'running') \
         AND (status = 'not_started' \
              OR lease_expires_ms IS NULL OR lease_expires_ms <= $3)"
    };
}

/// The claim: `$1` owner, `$2` lease expiry, `$3` now. `$lock` locks the chosen row on
/// PostgreSQL and skips rows other claims hold, so that concurrent claims pick different
/// executions instead of queueing on one; SQLite has no row locks (and no `FOR UPDATE`):
/// its single writer makes the statement atomic.
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE executions SET status = 'running', owner = $1, lease_expires_ms = $2, ",
            "attempts = attempts + 1, started_ms = COALESCE(started_ms, $3) ",
            "WHERE id = (SELECT id FROM executions WHERE ",
            claimable!(),
            " ORDER BY created_ms, id LIMIT 1",
            $lock,
            ") AND ",
            claimable!(),
            " RETURNING ",
            execution_columns!()
        )
    };
}

const CLAIM_SQLITE: &str = claim_sql!("");
const CLAIM_POSTGRES: &str = claim_sql!(" FOR UPDATE SKIP LOCKED");

/// `$1` id, `$2` owner, `$3` new expiry, `$4` new state or NULL (keep), `$5` now. Only the
/// holder of an unexpired lease renews: an expired lease may have been claimed already.
const RENEW: &str = "UPDATE executions SET lease_expires_ms = $3, state = COALESCE($4, state) \
     WHERE id = $1 AND owner = $2 AND status = 'running' AND lease_expires_ms > $5 \
     RETURNING cancel_requested";

/// `$1` id, `$2` owner, `$3` status, `$4` state, `$5` now. The database refuses a second
/// completion (the status is complete) and a caller that lost the lease (the owner changed).
const COMPLETE: &str = concat!(
    "UPDATE executions SET status = $3, state = $4, ended_ms = $5, owner = NULL, ",
    "lease_expires_ms = NULL WHERE id = $1 AND owner = $2 AND status NOT IN ",
    complete_statuses!()
);

/// `$1` id, `$2` now. Every `SET` expression reads the row as it was (both dialects), so
/// the three `CASE`s agree on the old status.
const REQUEST_CANCEL: &str = "UPDATE executions SET \
     cancel_requested = CASE WHEN status IN ('not_started', 'running') THEN TRUE \
                        ELSE cancel_requested END, \
     ended_ms = CASE WHEN status = 'not_started' THEN $2 ELSE ended_ms END, \
     status = CASE WHEN status = 'not_started' THEN 'canceled' ELSE status END \
     WHERE id = $1 RETURNING status";

const INSERT_OBJECT: &str = "INSERT INTO objects (type, id, name, applications, body, updated_ms) \
     VALUES ($1, $2, $3, $4, $5, $6)";

const UPDATE_OBJECT: &str = "UPDATE objects SET name = $3, applications = $4, body = $5, \
     updated_ms = $6 WHERE type = $1 AND id = $2";

/// A bound value of a statement built at run time.
enum Arg {
    Text(String),
    Int(i64),
}

/// `list_executions`: the filters present, newest first (ties: the greater id first, as
/// the in-memory store).
fn list_executions_sql(query: &ExecutionQuery) -> (String, Vec<Arg>) {
    let mut sql = concat!(
        "SELECT ",
        execution_columns!(),
        " FROM executions WHERE TRUE"
    )
    .to_string();
    let mut args = Vec::new();
    let mut bind = |arg: Arg| {
        args.push(arg);
        format!("${}", args.len())
    };
    if let Some(kind) = query.kind {
        let p = bind(Arg::Text(kind.as_str().to_string()));
        sql.push_str(&format!(" AND kind = {p}"));
    }
    if let Some(application) = &query.application {
        let p = bind(Arg::Text(application.clone()));
        sql.push_str(&format!(" AND application = {p}"));
    }
    if !query.statuses.is_empty() {
        let placeholders: Vec<String> = query
            .statuses
            .iter()
            .map(|s| bind(Arg::Text(s.as_lower().to_string())))
            .collect();
        sql.push_str(&format!(" AND status IN ({})", placeholders.join(", ")));
    }
    let limit = bind(Arg::Int(i64::try_from(query.limit).unwrap_or(i64::MAX)));
    let offset = bind(Arg::Int(i64::try_from(query.offset).unwrap_or(i64::MAX)));
    sql.push_str(&format!(
        " ORDER BY created_ms DESC, id DESC LIMIT {limit} OFFSET {offset}"
    ));
    (sql, args)
}

impl Store for SqlStore {
    fn put_object<'a>(
        &'a self,
        kind: ObjectType,
        object: &'a StoredObject,
        mode: PutMode,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let applications = serde_json::to_string(&object.applications)
                .map_err(|e| self.corrupt(format!("cannot write JSON: {e}")))?;
            let body = self.to_json(&object.body)?;
            let sql: Cow<'static, str> = match mode {
                // ON CONFLICT: the database decides, so two replicas creating one id at
                // once get one success and one Conflict.
                PutMode::Create => {
                    format!("{INSERT_OBJECT} ON CONFLICT (type, id) DO NOTHING").into()
                }
                PutMode::Update => UPDATE_OBJECT.into(),
                PutMode::Upsert => format!(
                    "{INSERT_OBJECT} ON CONFLICT (type, id) DO UPDATE SET name = excluded.name, \
                     applications = excluded.applications, body = excluded.body, \
                     updated_ms = excluded.updated_ms"
                )
                .into(),
            };
            let affected = on_pool!(&self.pool, |p| sqlx::query(&sql)
                .bind(kind.as_str())
                .bind(object.id.as_str())
                .bind(object.name.as_deref())
                .bind(applications.as_str())
                .bind(body.as_str())
                .bind(object.updated_ms)
                .execute(p)
                .await
                .map(|r| r.rows_affected()))
            .map_err(|e| self.backend_error(e))?;
            match (mode, affected) {
                (PutMode::Create, 0) => Err(StoreError::Conflict(format!(
                    "{} '{}' already exists",
                    kind.as_str(),
                    object.id
                ))),
                (PutMode::Update, 0) => Err(StoreError::NotFound(format!(
                    "{} '{}' does not exist",
                    kind.as_str(),
                    object.id
                ))),
                _ => Ok(()),
            }
        })
    }

    fn get_object<'a>(
        &'a self,
        kind: ObjectType,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredObject>, StoreError>> {
        Box::pin(async move {
            const SQL: &str = "SELECT id, name, applications, body, updated_ms FROM objects \
                 WHERE type = $1 AND id = $2";
            on_pool!(&self.pool, |p| {
                let row = sqlx::query(SQL)
                    .bind(kind.as_str())
                    .bind(id)
                    .fetch_optional(p)
                    .await
                    .map_err(|e| self.backend_error(e))?;
                row.map(|r| object_from_row(&r))
                    .transpose()
                    .map_err(|e| self.row_error(e))
            })
        })
    }

    fn delete_object<'a>(
        &'a self,
        kind: ObjectType,
        id: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            const SQL: &str = "DELETE FROM objects WHERE type = $1 AND id = $2";
            let affected = on_pool!(&self.pool, |p| sqlx::query(SQL)
                .bind(kind.as_str())
                .bind(id)
                .execute(p)
                .await
                .map(|r| r.rows_affected()))
            .map_err(|e| self.backend_error(e))?;
            Ok(affected > 0)
        })
    }

    fn list_objects<'a>(
        &'a self,
        kind: ObjectType,
    ) -> BoxFuture<'a, Result<Vec<ObjectSummary>, StoreError>> {
        Box::pin(async move {
            const SQL: &str = "SELECT id, name, applications, updated_ms FROM objects \
                 WHERE type = $1 ORDER BY updated_ms DESC, id";
            on_pool!(&self.pool, |p| {
                let rows = sqlx::query(SQL)
                    .bind(kind.as_str())
                    .fetch_all(p)
                    .await
                    .map_err(|e| self.backend_error(e))?;
                rows.iter()
                    .map(summary_from_row)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| self.row_error(e))
            })
        })
    }

    fn create_execution<'a>(
        &'a self,
        execution: &'a Execution,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            const SQL: &str = concat!(
                "INSERT INTO executions (",
                execution_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ",
                "ON CONFLICT (id) DO NOTHING"
            );
            let request = self.to_json(&execution.request)?;
            let state = self.to_json(&execution.state)?;
            let e = execution;
            let affected = on_pool!(&self.pool, |p| sqlx::query(SQL)
                .bind(e.id.as_str())
                .bind(e.kind.as_str())
                .bind(e.application.as_str())
                .bind(e.status.as_lower())
                .bind(request.as_str())
                .bind(state.as_str())
                .bind(e.cancel_requested)
                .bind(e.owner.as_deref())
                .bind(e.lease_expires_ms)
                .bind(i64::from(e.attempts))
                .bind(e.created_ms)
                .bind(e.started_ms)
                .bind(e.ended_ms)
                .execute(p)
                .await
                .map(|r| r.rows_affected()))
            .map_err(|e| self.backend_error(e))?;
            if affected == 0 {
                return Err(StoreError::Conflict(format!(
                    "execution '{}' already exists",
                    execution.id
                )));
            }
            Ok(())
        })
    }

    fn get_execution<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Execution>, StoreError>> {
        Box::pin(async move {
            const SQL: &str = concat!(
                "SELECT ",
                execution_columns!(),
                " FROM executions WHERE id = $1"
            );
            on_pool!(&self.pool, |p| {
                let row = sqlx::query(SQL)
                    .bind(id)
                    .fetch_optional(p)
                    .await
                    .map_err(|e| self.backend_error(e))?;
                row.map(|r| execution_from_row(&r))
                    .transpose()
                    .map_err(|e| self.row_error(e))
            })
        })
    }

    fn list_executions<'a>(
        &'a self,
        query: &'a ExecutionQuery,
    ) -> BoxFuture<'a, Result<Vec<Execution>, StoreError>> {
        Box::pin(async move {
            let (sql, args) = list_executions_sql(query);
            on_pool!(&self.pool, |p| {
                let mut statement = sqlx::query(&sql);
                for arg in &args {
                    statement = match arg {
                        Arg::Text(s) => statement.bind(s.as_str()),
                        Arg::Int(i) => statement.bind(*i),
                    };
                }
                let rows = statement
                    .fetch_all(p)
                    .await
                    .map_err(|e| self.backend_error(e))?;
                rows.iter()
                    .map(execution_from_row)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| self.row_error(e))
            })
        })
    }

    fn claim<'a>(
        &'a self,
        owner: &'a str,
        lease: Duration,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Option<Execution>, StoreError>> {
        Box::pin(async move {
            let expires = now_ms.saturating_add(lease_ms(lease));
            let sql = match self.pool {
                Pool::Sqlite(_) => CLAIM_SQLITE,
                Pool::Postgres(_) => CLAIM_POSTGRES,
            };
            on_pool!(&self.pool, |p| {
                let row = sqlx::query(sql)
                    .bind(owner)
                    .bind(expires)
                    .bind(now_ms)
                    .fetch_optional(p)
                    .await
                    .map_err(|e| self.backend_error(e))?;
                row.map(|r| execution_from_row(&r))
                    .transpose()
                    .map_err(|e| self.row_error(e))
            })
        })
    }

    fn renew<'a>(
        &'a self,
        id: &'a str,
        owner: &'a str,
        lease: Duration,
        now_ms: i64,
        state: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<Lease, StoreError>> {
        Box::pin(async move {
            let expires = now_ms.saturating_add(lease_ms(lease));
            let state = state.map(|s| self.to_json(s)).transpose()?;
            let cancel_requested = on_pool!(&self.pool, |p| {
                let row = sqlx::query(RENEW)
                    .bind(id)
                    .bind(owner)
                    .bind(expires)
                    .bind(state.as_deref())
                    .bind(now_ms)
                    .fetch_optional(p)
                    .await
                    .map_err(|e| self.backend_error(e))?;
                row.map(|r| r.flag("cancel_requested"))
                    .transpose()
                    .map_err(|e| self.backend_error(e))?
            });
            Ok(match cancel_requested {
                None => Lease::Lost,
                Some(true) => Lease::CancelRequested,
                Some(false) => Lease::Held,
            })
        })
    }

    fn complete<'a>(
        &'a self,
        id: &'a str,
        owner: &'a str,
        status: ExecutionStatus,
        state: &'a Value,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let state = self.to_json(state)?;
            let affected = on_pool!(&self.pool, |p| sqlx::query(COMPLETE)
                .bind(id)
                .bind(owner)
                .bind(status.as_lower())
                .bind(state.as_str())
                .bind(now_ms)
                .execute(p)
                .await
                .map(|r| r.rows_affected()))
            .map_err(|e| self.backend_error(e))?;
            if affected > 0 {
                return Ok(());
            }
            // Refused. Only the reason is read here: the refusal itself was atomic, and a
            // complete execution never becomes incomplete again, so this answer is stable
            // for AlreadyComplete and NotFound (executions are never deleted).
            const SQL: &str = "SELECT status FROM executions WHERE id = $1";
            let status = on_pool!(&self.pool, |p| {
                let row = sqlx::query(SQL)
                    .bind(id)
                    .fetch_optional(p)
                    .await
                    .map_err(|e| self.backend_error(e))?;
                row.map(|r| r.text("status"))
                    .transpose()
                    .map_err(|e| self.backend_error(e))?
            });
            match status.as_deref().map(ExecutionStatus::parse) {
                None => Err(StoreError::NotFound(format!(
                    "execution '{id}' does not exist"
                ))),
                Some(Some(s)) if s.is_complete() => {
                    Err(StoreError::AlreadyComplete(id.to_string()))
                }
                Some(Some(_)) => Err(StoreError::LeaseLost(id.to_string())),
                Some(None) => Err(self.corrupt(format!(
                    "execution '{id}' has an unknown status '{}'",
                    status.unwrap_or_default()
                ))),
            }
        })
    }

    fn request_cancel<'a>(
        &'a self,
        id: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Option<ExecutionStatus>, StoreError>> {
        Box::pin(async move {
            let status = on_pool!(&self.pool, |p| {
                let row = sqlx::query(REQUEST_CANCEL)
                    .bind(id)
                    .bind(now_ms)
                    .fetch_optional(p)
                    .await
                    .map_err(|e| self.backend_error(e))?;
                row.map(|r| r.text("status"))
                    .transpose()
                    .map_err(|e| self.backend_error(e))?
            });
            status
                .map(|s| {
                    ExecutionStatus::parse(&s).ok_or_else(|| {
                        self.corrupt(format!("execution '{id}' has an unknown status '{s}'"))
                    })
                })
                .transpose()
        })
    }
}

/// The URL as messages may show it: no user info (`user:password@`) and no query (which
/// may carry `password=`), so that no secret reaches a log or a response.
pub(crate) fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    // User info first, up to the last `@`: a password that is not percent-encoded may
    // contain `@`, `/`, `?` or `#`. Then the query and fragment.
    let rest = rest.rfind('@').map_or(rest, |at| &rest[at + 1..]);
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    match scheme {
        Some(scheme) => format!("{scheme}://{rest}"),
        None => rest.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_statuses_match_is_complete() {
        let all = [
            ExecutionStatus::NotStarted,
            ExecutionStatus::Running,
            ExecutionStatus::Succeeded,
            ExecutionStatus::Terminal,
            ExecutionStatus::Canceled,
        ];
        for status in all {
            let quoted = format!("'{}'", status.as_lower());
            assert_eq!(
                complete_statuses!().contains(&quoted),
                status.is_complete(),
                "{status:?}"
            );
        }
    }

    #[test]
    fn redact_url_drops_user_info_and_query() {
        assert_eq!(
            redact_url("postgres://kanary:s3cret@db.example:5432/kanary"),
            "postgres://db.example:5432/kanary"
        );
        assert_eq!(
            redact_url("postgres://u:p@ss/w@rd@db/kanary?sslmode=require"),
            "postgres://db/kanary"
        );
        assert_eq!(
            redact_url("postgresql://db/kanary?user=u&password=s3cret"),
            "postgresql://db/kanary"
        );
        assert_eq!(redact_url("sqlite://kanary.db"), "sqlite://kanary.db");
        assert_eq!(redact_url("sqlite::memory:"), "sqlite::memory:");
        assert_eq!(
            redact_url("postgres://u:pa?ss#x@db/kanary"),
            "postgres://db/kanary"
        );
        assert_eq!(redact_url("mysql:u:secret@host"), "host");
    }

    #[test]
    fn list_sql_numbers_every_placeholder_once_in_order() {
        let query = ExecutionQuery {
            kind: Some(ExecutionKind::Canary),
            application: Some("app".into()),
            statuses: vec![ExecutionStatus::Running, ExecutionStatus::Succeeded],
            limit: 10,
            offset: 5,
        };
        let (sql, args) = list_executions_sql(&query);
        assert_eq!(args.len(), 6);
        for n in 1..=6 {
            assert_eq!(sql.matches(&format!("${n}")).count(), 1, "{sql}");
        }
        assert!(
            sql.ends_with("ORDER BY created_ms DESC, id DESC LIMIT $5 OFFSET $6"),
            "{sql}"
        );
    }
}
