//! A fresh, empty database per test: a SQLite file in a temporary folder, or a PostgreSQL
//! database created on the server named by `VEZA_TEST_POSTGRES_URL` (default: the local
//! server's `postgres` database as user `postgres`) and dropped when the test ends.

use rand::Rng;
use tempfile::TempDir;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const DEFAULT_POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn postgres_admin_url() -> String {
    std::env::var("VEZA_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_ADMIN_URL.to_string())
}

#[derive(Debug)]
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    /// Holds the SQLite file (and any data dir) until the test ends.
    pub dir: TempDir,
    pg_name: Option<String>,
}

impl TestDb {
    /// The same database for a second node, with its own data dir; the database outlives it
    /// only as long as `self` does.
    /// A PostgreSQL database this value neither creates nor drops (a private cluster's own).
    pub fn at(url: String) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self { url, backend: Backend::Postgres, dir, pg_name: None }
    }

    pub fn sharing(&self) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self { url: self.url.clone(), backend: self.backend, dir, pg_name: None }
    }

    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite(),
            Backend::Postgres => Self::postgres().await,
        }
    }

    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("veza.db").display());
        Self { url, backend: Backend::Sqlite, dir, pg_name: None }
    }

    pub async fn postgres() -> Self {
        let admin = postgres_admin_url();
        let name = format!("veza_test_{:016x}", rand::thread_rng().gen::<u64>());
        let mut conn = admin_connection(&admin).await;
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("CREATE DATABASE");
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base);
        let url = format!("{base}/{name}");
        Self {
            url,
            backend: Backend::Postgres,
            dir: tempfile::tempdir().expect("temporary directory"),
            pg_name: Some(name),
        }
    }

    /// A connected, migrated database handle.
    pub async fn connect(&self) -> veza_sql::Database {
        let db = veza_sql::Database::connect(&self.url, &veza_sql::PoolConfig::default())
            .await
            .expect("connect to test database");
        db.migrate().await.expect("migrate test database");
        db
    }
}

async fn admin_connection(url: &str) -> sqlx::AnyConnection {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(url).await.unwrap_or_else(|e| {
        panic!("PostgreSQL is needed for this test and is not reachable at {url} ({e}); scripts/test starts it, or set VEZA_TEST_POSTGRES_URL")
    })
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else { return };
        // Drop runs outside any runtime guarantee, so the clean-up gets its own small one.
        let admin = postgres_admin_url();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
            if let Ok(rt) = rt {
                rt.block_on(async {
                    let mut conn = admin_connection(&admin).await;
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await;
                });
            }
        })
        .join();
    }
}
