//! The repository contract on every store: the in-memory fakes, SQLite and PostgreSQL.

use veza_core::fakes::MemoryStore;
use veza_testkit::contract::run_all;
use veza_testkit::db::{Backend, TestDb};

#[tokio::test]
async fn memory_store_meets_the_contract() {
    run_all(&MemoryStore::default()).await;
}

#[tokio::test]
async fn sqlite_meets_the_contract() {
    let db = TestDb::new(Backend::Sqlite).await;
    run_all(&db.connect().await).await;
}

#[tokio::test]
async fn postgres_meets_the_contract() {
    let db = TestDb::new(Backend::Postgres).await;
    run_all(&db.connect().await).await;
}

#[tokio::test]
async fn audit_log_is_append_only_in_both_databases() {
    use sqlx::Connection;
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDb::new(backend).await;
        let store = db.connect().await;
        run_all(&store).await;
        let mut conn = sqlx::AnyConnection::connect(&db.url).await.expect("raw connection");
        for sql in ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"] {
            let err = sqlx::query(sql).execute(&mut conn).await.expect_err("must be refused");
            assert!(err.to_string().contains("append-only"), "{backend:?}: {err}");
        }
    }
}
