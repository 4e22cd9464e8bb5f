//! Turning sqlx's errors into the core's [`StoreError`]: unique violations become conflicts
//! naming the field, lost connections become "unavailable" (answered 503, retried by clients).

use veza_core::ports::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error("{0}")]
    Config(String),
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error(transparent)]
    Query(#[from] sqlx::Error),
}

impl SqlError {
    pub(crate) fn from_connect(e: sqlx::Error) -> Self {
        Self::Connect(e.to_string())
    }
}

/// SQLSTATE classes that mean the server went away rather than the query being wrong:
/// 08 connection exception, 57P0x operator intervention (shutdown), 53 insufficient resources.
fn is_transient_sqlstate(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("57P") || code.starts_with("53")
}

pub(crate) fn store_error(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Database(db) => {
            if db.is_unique_violation() {
                let text = format!("{} {}", db.message(), db.constraint().unwrap_or_default());
                let field = if text.contains("username") {
                    "username"
                } else if text.contains("email") {
                    "email"
                } else if text.contains("identities") {
                    "identity"
                } else if text.contains("credential_id") {
                    "credential"
                } else if text.contains("starter") {
                    "message_id"
                } else {
                    "id"
                };
                return StoreError::Conflict(field);
            }
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            // SQLite reports extended codes; their low byte is the primary one: 5 = SQLITE_BUSY,
            // 6 = SQLITE_LOCKED (still locked after the busy timeout), e.g. 517 BUSY_SNAPSHOT.
            let sqlite_busy = code.parse::<i64>().is_ok_and(|c| matches!(c & 0xff, 5 | 6));
            if is_transient_sqlstate(&code) || sqlite_busy {
                StoreError::Unavailable(db.message().to_string())
            } else {
                StoreError::Other(db.message().to_string())
            }
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
        other => StoreError::Other(other.to_string()),
    }
}

impl From<SqlError> for StoreError {
    fn from(e: SqlError) -> Self {
        match e {
            SqlError::Query(q) => store_error(q),
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}
