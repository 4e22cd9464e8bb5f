//! Accounts. Usernames are stored lowercase and emails with a lowercase twin, so the UNIQUE
//! constraints alone enforce case-insensitive uniqueness, even under concurrent sign-ups.

use async_trait::async_trait;
use time::OffsetDateTime;
use veza_core::account_token::{CredentialChange, TokenPurpose};
use veza_core::audit::AuditEntry;
use veza_core::id::UserId;
use veza_core::ports::{StoreError, StoreResult, UserRepo};
use veza_core::session::{NewSession, RevokeReason};
use veza_core::user::{AccountChange, AccountState, NewUser, ProfilePatch, Role, User, UserQuery, Username};

use crate::account_tokens::apply_credentials;
use crate::audit::{commit_with_audit, insert_audit};
use crate::error::store_error;
use crate::filter::{contains_pattern, Filter, Param};
use crate::rows::{to_micros, UserRow, USER_COLUMNS};
use crate::sessions::{insert_session, revoke_sessions, Revoke};
use crate::{Database, Dialect};

impl Database {
    async fn user_where(
        &self,
        condition: &str,
        value: impl for<'q> sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any> + Send,
    ) -> StoreResult<Option<(User, Option<String>)>> {
        let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE {condition}");
        let found = sqlx::query_as::<_, UserRowWithHash>(&sql)
            .bind(value)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        found.map(|r| Ok((User::try_from(r.user)?, Some(r.password_hash).filter(|h| !h.is_empty())))).transpose()
    }
}

/// Inserts a new account. An account without a password stores the empty string, which no
/// verification accepts (the column predates password-less accounts and stays NOT NULL).
pub(crate) async fn insert_user(conn: &mut sqlx::AnyConnection, user: &NewUser) -> StoreResult<()> {
    let now = to_micros(user.created_at);
    sqlx::query(
        "INSERT INTO users (id, username, email, email_normalized, email_verified_at, password_hash, role, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(user.id.0)
    .bind(user.username.as_str())
    .bind(user.email.as_str())
    .bind(user.email.normalized())
    .bind(user.email_verified.then_some(now))
    .bind(user.password_hash.as_deref().unwrap_or(""))
    .bind(user.role.as_str())
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct UserRowWithHash {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
}

#[async_trait]
impl UserRepo for Database {
    async fn create(&self, user: &NewUser, session: Option<&NewSession>, audit: &[AuditEntry]) -> StoreResult<()> {
        let mut tx = self.begin().await.map_err(store_error)?;
        insert_user(&mut tx, user).await?;
        if let Some(session) = session {
            insert_session(&mut tx, session).await?;
        }
        commit_with_audit(tx, audit).await
    }

    async fn by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        Ok(self.user_where("id = $1", id.0).await?.map(|(u, _)| u))
    }

    async fn by_username(&self, username: &Username) -> StoreResult<Option<User>> {
        Ok(self.user_where("username = $1", username.as_str().to_string()).await?.map(|(u, _)| u))
    }

    async fn credentials(&self, login: &str) -> StoreResult<Option<(User, Option<String>)>> {
        let column = if login.contains('@') { "email_normalized = $1" } else { "username = $1" };
        self.user_where(column, login.to_string()).await
    }

    async fn update_profile(
        &self,
        id: UserId,
        patch: &ProfilePatch,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> StoreResult<Option<User>> {
        // Only the columns the patch names: two clients editing different fields at once must
        // not overwrite each other with what they read before.
        let mut sets: Vec<String> = Vec::new();
        let mut texts: Vec<Option<String>> = Vec::new();
        let columns = [
            ("display_name", &patch.display_name),
            ("bio", &patch.bio),
            ("avatar_url", &patch.avatar_url),
            ("location", &patch.location),
        ];
        for (column, value) in columns {
            if let Some(value) = value {
                texts.push(value.clone());
                sets.push(format!("{column} = ${}", texts.len()));
            }
        }
        if let Some(links) = &patch.links {
            texts.push(Some(serde_json::to_string(links).map_err(|e| StoreError::Other(e.to_string()))?));
            sets.push(format!("links = ${}", texts.len()));
        }
        let n = texts.len();
        let sql = format!(
            "UPDATE users SET {}updated_at = ${} WHERE id = ${}",
            sets.iter().map(|s| format!("{s}, ")).collect::<String>(),
            n + 1,
            n + 2
        );
        let mut query = sqlx::query(&sql);
        for text in texts {
            query = query.bind(text);
        }
        let mut tx = self.begin().await.map_err(store_error)?;
        let updated = query.bind(to_micros(now)).bind(id.0).execute(&mut *tx).await.map_err(store_error)?;
        if updated.rows_affected() == 0 {
            return Ok(None);
        }
        insert_audit(&mut tx, audit).await?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query_as::<_, UserRow>(&sql).bind(id.0).fetch_one(&mut *tx).await.map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        User::try_from(row).map(Some)
    }

    async fn change_account(
        &self,
        id: UserId,
        change: &AccountChange,
        now: OffsetDateTime,
        audit: &[AuditEntry],
    ) -> StoreResult<Option<User>> {
        let now = to_micros(now);
        let stops_an_admin = change.role.is_some_and(|r| r != Role::Admin) || matches!(change.disabled, Some(Some(_)));
        let mut tx = self.begin().await.map_err(store_error)?;
        if stops_an_admin && self.dialect == Dialect::Postgres {
            // Lock every enabled admin's row, in one order: a concurrent demotion of another admin
            // waits here, then sees this one's result. (SQLite has one writer at a time already.)
            sqlx::query("SELECT id FROM users WHERE role = 'admin' AND disabled_at IS NULL ORDER BY id FOR UPDATE")
                .fetch_all(&mut *tx)
                .await
                .map_err(store_error)?;
        }
        // Touch the row: it proves the account exists and, on SQLite, takes the write lock.
        let found = sqlx::query("UPDATE users SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        if found.rows_affected() == 0 {
            return Ok(None);
        }
        // Only a change that takes an enabled admin out of that role can leave none.
        let mut was_active_admin = false;
        if stops_an_admin {
            let (role, disabled_at): (String, Option<i64>) =
                sqlx::query_as("SELECT role, disabled_at FROM users WHERE id = $1")
                    .bind(id.0)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(store_error)?;
            was_active_admin = role == Role::Admin.as_str() && disabled_at.is_none();
        }
        if let Some(role) = change.role {
            sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
                .bind(role.as_str())
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
        }
        match &change.disabled {
            // Disabling again keeps the first disabled_at and records the new reason.
            Some(Some(reason)) => {
                sqlx::query(
                    "UPDATE users SET disabled_at = COALESCE(disabled_at, $1), disabled_reason = $2 WHERE id = $3",
                )
                .bind(now)
                .bind(reason.as_str())
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
                revoke_sessions(&mut tx, Revoke::AllOf(id), RevokeReason::AccountDisabled, now).await?;
                sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                    .bind(now)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(store_error)?;
            }
            Some(None) => {
                sqlx::query("UPDATE users SET disabled_at = NULL, disabled_reason = NULL WHERE id = $1")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(store_error)?;
            }
            None => {}
        }
        if was_active_admin {
            let (left,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(store_error)?;
            if left == 0 {
                return Err(StoreError::LastAdmin); // dropping `tx` rolls everything back
            }
        }
        for entry in audit {
            insert_audit(&mut tx, entry).await?;
        }
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query_as::<_, UserRow>(&sql).bind(id.0).fetch_one(&mut *tx).await.map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        User::try_from(row).map(Some)
    }

    async fn change_credentials(
        &self,
        id: UserId,
        change: &CredentialChange,
        now: OffsetDateTime,
        audit: &[AuditEntry],
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await.map_err(store_error)?;
        if !apply_credentials(&mut tx, id, change, to_micros(now)).await? {
            return Ok(false);
        }
        commit_with_audit(tx, audit).await?;
        Ok(true)
    }

    async fn redeem_token(
        &self,
        user: UserId,
        hash: &str,
        purpose: TokenPurpose,
        change: &CredentialChange,
        now: OffsetDateTime,
        audit: &[AuditEntry],
    ) -> StoreResult<bool> {
        self.redeem(user, hash, purpose, change, now, audit).await
    }

    async fn list_users(&self, q: &UserQuery) -> StoreResult<Vec<User>> {
        let mut f = Filter::default();
        if let Some(search) = &q.search {
            let pattern = contains_pattern(&search.to_lowercase());
            f.add(
                "(username LIKE ? ESCAPE '\\' OR email_normalized LIKE ? ESCAPE '\\')",
                [Param::Text(pattern.clone()), Param::Text(pattern)],
            );
        }
        if let Some(role) = q.role {
            f.add("role = ?", [Param::Text(role.as_str().to_string())]);
        }
        match q.state {
            Some(AccountState::Enabled) => f.add("disabled_at IS NULL", []),
            Some(AccountState::Disabled) => f.add("disabled_at IS NOT NULL", []),
            None => {}
        }
        if let Some(before) = q.page.before {
            f.add("id < ?", [Param::Int(before)]);
        }
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users {} ORDER BY id DESC LIMIT {}",
            f.where_clause(),
            i64::from(q.page.limit) + 1
        );
        let mut query = sqlx::query_as::<_, UserRow>(&sql);
        for p in f.params {
            query = p.bind(query);
        }
        let rows = query.fetch_all(&self.pool).await.map_err(store_error)?;
        rows.into_iter().map(User::try_from).collect()
    }
}
