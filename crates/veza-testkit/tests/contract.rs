//! The repository contract on every store: the in-memory fakes, SQLite and PostgreSQL.

use veza_core::fakes::MemoryStore;
use veza_core::id::UserId;
use veza_testkit::contract::{bans_and_joins_take_turns, run_all};
use veza_testkit::contract_catalog::run_catalog;
use veza_testkit::contract_social::{
    adds_racing_for_a_playlists_last_places, make_users, replies_racing_a_deletion_stay_counted, run_comments,
    run_follows, run_playlists, run_reactions, toggles_keep_counters_exact,
};
use veza_testkit::db::{Backend, TestDb};

#[tokio::test]
async fn memory_store_meets_the_contract() {
    run_all(&MemoryStore::default()).await;
    run_catalog(&veza_core::catalog::fakes::MemoryCatalog::default(), UserId(1), time::OffsetDateTime::UNIX_EPOCH)
        .await;
    run_follows(&MemoryStore::default()).await;
    run_reactions(
        &veza_core::catalog::fakes::MemoryCatalog::default(),
        UserId(97_000),
        [UserId(97_001), UserId(97_002)],
    )
    .await;
}

#[tokio::test]
async fn sqlite_meets_the_contract() {
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.connect().await;
    run_all(&store).await;
    catalog_on(&store).await;
    social_on(&store).await;
}

#[tokio::test]
async fn postgres_meets_the_contract() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.connect().await;
    run_all(&store).await;
    catalog_on(&store).await;
    social_on(&store).await;
}

#[tokio::test]
async fn a_ban_and_racing_joins_take_turns_on_every_store() {
    bans_and_joins_take_turns(&MemoryStore::default(), 5).await;
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDb::new(backend).await;
        bans_and_joins_take_turns(&db.connect().await, 60).await;
    }
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

/// The catalog's checks on a SQL store, for an account of its own.
async fn catalog_on(store: &veza_sql::Database) {
    use veza_core::ports::UserRepo;
    let user = veza_core::user::NewUser {
        id: UserId(9000),
        username: veza_core::user::Username::parse("trackowner").unwrap(),
        email: veza_core::user::Email::parse("trackowner@example.com").unwrap(),
        email_verified: true,
        password_hash: None,
        role: veza_core::user::Role::User,
        created_at: time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
    };
    UserRepo::create(store, &user, None, &[]).await.expect("owner");
    run_catalog(store, user.id, time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()).await;
}

/// The social checks on a SQL store, for accounts of their own.
async fn social_on(store: &veza_sql::Database) {
    run_follows(store).await;
    make_users(store, "reactor", 97_000..=97_002).await;
    run_reactions(store, UserId(97_000), [UserId(97_001), UserId(97_002)]).await;
    run_comments(store, UserId(97_000), UserId(97_001)).await;
    run_playlists(store, UserId(97_000), UserId(97_001), UserId(97_002)).await;
}

/// Thousands of likes, reposts and follows and their undoing, raced by 40 people at once: the
/// counters equal the rows after, on SQLite and on PostgreSQL (where they run on separate
/// connections at once).
#[tokio::test]
async fn racing_toggles_keep_every_counter_equal_to_its_rows() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDb::new(backend).await;
        let store = db.connect().await;
        make_users(&store, "star", [98_000]).await;
        make_users(&store, "racer", 98_001..=98_040).await;
        let fans: Vec<UserId> = (98_001..=98_040).map(UserId).collect();
        for round in 0..3 {
            toggles_keep_counters_exact(&store, UserId(98_000), &fans, 99_000 + round, 25 + round as usize).await;
        }
        replies_racing_a_deletion_stay_counted(&store, UserId(98_000), &fans[..8], 99_100, 30).await;
        adds_racing_for_a_playlists_last_places(&store, UserId(98_000), 7_000_000, 10).await;
    }
}
