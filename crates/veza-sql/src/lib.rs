//! The SQL adapter: implements the core's repository ports on SQLite (the embedded default) and
//! PostgreSQL, chosen at run time by the URL's scheme.
//!
//! Both databases go through sqlx's `Any` driver with one set of query texts: the schema keeps
//! to types both dialects share (64-bit integers for IDs and microsecond timestamps, TEXT for the
//! rest) and queries use `$N` placeholders, which SQLite also understands. Only the migrations
//! differ per database. This is the only crate that names sqlx.

mod account_tokens;
mod api_keys;
mod audit;
mod channels;
mod comments;
mod communities;
mod error;
mod filter;
mod identities;
mod mail;
mod messages;
mod oauth_flows;
mod passkeys;
mod playlists;
mod presence;
mod rows;
mod second_factors;
mod sessions;
mod social;
mod tracks;
mod users;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions, Executor};

pub use error::SqlError;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn of_url(url: &str) -> Result<Self, SqlError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(SqlError::Config("database URL must start with sqlite: or postgres://".into()))
        }
    }

    fn migrator(self) -> &'static Migrator {
        match self {
            Self::Sqlite => &SQLITE_MIGRATIONS,
            Self::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

/// Pool settings; the defaults suit one node.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub max_connections: u32,
    /// How long a request waits for a connection before it is answered 503.
    pub acquire_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self { max_connections: 16, acquire_timeout: Duration::from_secs(3) }
    }
}

/// A pool's occupancy, for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    pub max: u32,
    pub open: u32,
    pub idle: u32,
}

/// A connection pool to one database, implementing every repository port.
#[derive(Debug, Clone)]
pub struct Database {
    pool: AnyPool,
    dialect: Dialect,
    max_connections: u32,
    /// SQLite only: write transactions of this process take turns here before `BEGIN
    /// IMMEDIATE`, so they queue in order instead of meeting the database's lock.
    write_turn: Option<Arc<tokio::sync::Mutex<()>>>,
}

/// A write transaction, holding the process's write turn on SQLite until it commits, rolls
/// back or is dropped. It reads and writes as the connection it wraps.
pub(crate) struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub(crate) async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// SQLite settings applied on every new connection: WAL lets readers run beside the one writer;
/// a writer waits up to 5 s for the lock instead of failing; foreign keys are off by default in
/// SQLite and must be switched on per connection.
///
/// Checkpoints (copying the WAL back into the database file) are not run by the commit that
/// crosses the WAL's threshold, which would make that one write wait for the copy and its fsync
/// with every writer queued behind it: a task of the pool runs them (see [`CHECKPOINT_EVERY`]).
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
                              PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
                              PRAGMA wal_autocheckpoint = 0;";
/// How often the SQLite pool checkpoints its WAL, in the background (`PASSIVE`: beside the
/// writers, never waiting for them).
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Checkpoints the WAL every [`CHECKPOINT_EVERY`] until the pool is closed.
async fn checkpoints(pool: AnyPool) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !pool.is_closed() {
        tick.tick().await;
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            if !pool.is_closed() {
                tracing::warn!(error = %e, "SQLite checkpoint failed");
            }
        }
    }
}

impl Database {
    /// Connects lazily-checked: the pool opens one connection now so that a wrong URL or
    /// password fails at start, not at the first request.
    pub async fn connect(url: &str, config: &PoolConfig) -> Result<Self, SqlError> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::of_url(url)?;
        let url = match dialect {
            // Create the file on first start.
            Dialect::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| SqlError::Config(format!("database URL is invalid: {e}")))?
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
        let pool = AnyPoolOptions::new()
            .max_connections(config.max_connections)
            .min_connections(0)
            .acquire_timeout(config.acquire_timeout)
            // sqlx pings every connection it hands out by default: a second round trip for
            // every query. A PostgreSQL connection needs it (after the server restarts, the
            // pooled ones are dead, and the ping is what finds and replaces them); an SQLite
            // one is a file handle on a thread of this process and cannot go stale.
            .test_before_acquire(dialect == Dialect::Postgres)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        conn.execute(SQLITE_PRAGMAS).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(SqlError::from_connect)?;
        let write_turn = (dialect == Dialect::Sqlite).then(|| Arc::new(tokio::sync::Mutex::new(())));
        if dialect == Dialect::Sqlite {
            tokio::spawn(checkpoints(pool.clone()));
        }
        Ok(Self { pool, dialect, max_connections: config.max_connections, write_turn })
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Begins a write transaction. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`): a transaction that read first could not upgrade while another writer holds
    /// the lock, and would fail at once instead of waiting. Before that it waits for this
    /// process's write turn (a fair queue), because SQLite's own wait for a busy lock is a
    /// sleep of 1, 2, 5, 10… ms: two sends colliding would cost the second milliseconds, and
    /// under load the sleeps compound into a queue of hundreds. The busy timeout still covers
    /// other processes (the command line) and single-statement writes.
    pub(crate) async fn begin(&self) -> Result<WriteTx, sqlx::Error> {
        let turn = self.write_turn().await;
        let tx = match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.pool.begin().await?,
        };
        Ok(WriteTx { tx, _turn: turn })
    }

    /// This process's write turn on SQLite, for a write made of one statement outside a
    /// transaction (SQLite takes the lock for the statement alone); nothing on PostgreSQL.
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match &self.write_turn {
            Some(turn) => Some(turn.clone().lock_owned().await),
            None => None,
        }
    }

    /// Applies pending migrations. Safe to run on every start and from several nodes at once
    /// (sqlx takes an advisory lock on PostgreSQL).
    pub async fn migrate(&self) -> Result<usize, SqlError> {
        let migrator = self.dialect.migrator();
        let before = self.applied_version().await.unwrap_or(None);
        let failed = |e: sqlx::migrate::MigrateError| SqlError::Migration(e.to_string());
        match self.dialect {
            Dialect::Postgres => migrator.run(&self.pool).await.map_err(failed)?,
            Dialect::Sqlite => {
                // SQLite changes a column's constraints only by rebuilding its table, and
                // dropping the old table with foreign keys enforced would cascade into every
                // table referencing it. So migrations run on one connection with enforcement
                // off (it cannot change inside the transaction each migration runs in), and
                // the references are checked before it is turned back on.
                let mut conn = self.pool.acquire().await?;
                sqlx::query("PRAGMA foreign_keys = OFF").execute(&mut *conn).await?;
                let ran = migrator.run(&mut *conn).await.map_err(failed);
                let broken: Vec<(String,)> = match ran {
                    Ok(()) => {
                        sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check").fetch_all(&mut *conn).await?
                    }
                    Err(_) => Vec::new(),
                };
                sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
                ran?;
                if let Some((table,)) = broken.first() {
                    return Err(SqlError::Migration(format!("a migration left broken references in {table}")));
                }
            }
        }
        let pending = migrator.iter().filter(|m| before.is_none_or(|v| m.version > v)).count();
        Ok(pending)
    }

    /// The newest migration applied, or None on an empty database.
    async fn applied_version(&self) -> Result<Option<i64>, SqlError> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| match e {
                    // No migrations table yet (SQLite: "no such table"; PostgreSQL: 42P01
                    // undefined_table): nothing applied. Any other error is just an error.
                    sqlx::Error::Database(db)
                        if db.code().as_deref() == Some("42P01") || db.message().contains("no such table") =>
                    {
                        SqlError::Migration("no migrations applied".into())
                    }
                    e => SqlError::from(e),
                })?;
        Ok(row.and_then(|r| r.0))
    }

    /// Ready when the database answers and every migration this build knows is applied.
    pub async fn readiness(&self) -> Result<(), String> {
        let expected = self.dialect.migrator().iter().map(|m| m.version).max();
        match self.applied_version().await {
            Ok(applied) if applied >= expected => Ok(()),
            Ok(applied) => Err(format!(
                "database schema is behind: at migration {}, this build needs {}; run `veza migrate`",
                applied.map_or("none".into(), |v| v.to_string()),
                expected.unwrap_or(0)
            )),
            Err(SqlError::Migration(_)) => Err("database has no schema yet; run `veza migrate`".into()),
            Err(e) => {
                // The driver's words (host names, roles) go to the log, not to the public answer.
                tracing::warn!(error = %e, "readiness check: database unreachable");
                Err("database unreachable".into())
            }
        }
    }

    pub fn pool_stats(&self) -> PoolStats {
        PoolStats { max: self.max_connections, open: self.pool.size(), idle: self.pool.num_idle() as u32 }
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Migration 16 rebuilds `channels` on SQLite: a database that had channels, messages,
    /// reactions, pins, read states and thread members keeps them all, and the tables that
    /// point at channels still do (deleting a channel still takes its messages).
    #[tokio::test]
    async fn rebuilding_channels_keeps_everything_that_points_at_them() {
        let path = std::env::temp_dir().join(format!("veza-rebuild-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let db = Database::connect(&format!("sqlite://{}", path.display()), &PoolConfig::default()).await.expect("db");
        let before: Vec<_> = SQLITE_MIGRATIONS.iter().filter(|m| m.version < 16).cloned().collect();
        let older = Migrator { migrations: std::borrow::Cow::Owned(before), ..Migrator::DEFAULT };
        older.run(&db.pool).await.expect("migrations up to 15");
        for statement in [
            "INSERT INTO users (id, username, email, email_normalized, password_hash, role, created_at, updated_at) \
             VALUES (1, 'nova', 'n@x.test', 'n@x.test', 'h', 'user', 0, 0)",
            "INSERT INTO communities (id, name, owner_id, created_at) VALUES (10, 'Studio', 1, 0)",
            "INSERT INTO channels (id, community_id, kind, name, position, slowmode_secs, created_at) \
             VALUES (20, 10, 'text', 'general', 0, 0, 0)",
            "INSERT INTO channels (id, community_id, kind, name, parent_id, position, slowmode_secs, created_at, \
             owner_id) VALUES (21, 10, 'thread', 'Mix', 20, 0, 0, 0, 1)",
            "INSERT INTO thread_members (thread_id, user_id, joined_at) VALUES (21, 1, 0)",
            "INSERT INTO messages (id, channel_id, author_id, content, created_at) VALUES (30, 20, 1, 'hi', 0)",
            "INSERT INTO message_reactions (message_id, user_id, emoji, created_at) VALUES (30, 1, 'x', 0)",
            "INSERT INTO channel_pins (channel_id, message_id, pinned_by, pinned_at) VALUES (20, 30, 1, 0)",
            "INSERT INTO read_states (user_id, channel_id, last_read_id) VALUES (1, 20, 30)",
        ] {
            sqlx::query(statement).execute(&db.pool).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        assert_eq!(db.migrate().await.expect("migration 16 and on"), SQLITE_MIGRATIONS.iter().count() - 15);
        let count = |table: &'static str| {
            let pool = db.pool.clone();
            async move {
                let (n,): (i64,) =
                    sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&pool).await.expect("count");
                n
            }
        };
        for table in ["channels", "thread_members", "messages", "message_reactions", "channel_pins", "read_states"] {
            assert!(count(table).await > 0, "{table} lost its rows");
        }
        let (null,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM channels WHERE community_id IS NULL")
            .fetch_one(&db.pool)
            .await
            .expect("q");
        assert_eq!(null, 0);
        sqlx::query("DELETE FROM channels WHERE id = 20").execute(&db.pool).await.expect("delete");
        for table in ["messages", "message_reactions", "channel_pins", "read_states"] {
            assert_eq!(count(table).await, 0, "{table} no longer follows channels");
        }
        db.close().await;
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn dialect_from_url() {
        assert_eq!(Dialect::of_url("sqlite://data/veza.db").expect("sqlite"), Dialect::Sqlite);
        assert_eq!(Dialect::of_url("postgres://u@h/db").expect("pg"), Dialect::Postgres);
        assert!(Dialect::of_url("mysql://x").is_err());
    }
}
