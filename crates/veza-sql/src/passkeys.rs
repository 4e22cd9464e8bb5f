//! Passkeys and WebAuthn ceremonies. A ceremony is taken with one DELETE … RETURNING, so it is
//! finished at most once even when two answers race.

use async_trait::async_trait;
use time::OffsetDateTime;
use veza_core::audit::AuditEntry;
use veza_core::id::{PasskeyId, UserId};
use veza_core::passkey::{Ceremony, CeremonyPurpose, Passkey};
use veza_core::ports::{PasskeyRepo, StoreError, StoreResult, Unlinked};

use crate::audit::commit_with_audit;
use crate::error::store_error;
use crate::identities::WayIn;
use crate::rows::{from_micros, to_micros};
use crate::Database;

const COLUMNS: &str = "id, user_id, name, credential_id, data, created_at, last_used_at";
const CEREMONY_COLUMNS: &str = "id_hash, purpose, user_id, state, created_at, expires_at";

#[derive(sqlx::FromRow)]
struct PasskeyRow {
    id: i64,
    user_id: i64,
    name: String,
    credential_id: String,
    data: String,
    created_at: i64,
    last_used_at: Option<i64>,
}

impl TryFrom<PasskeyRow> for Passkey {
    type Error = StoreError;

    fn try_from(r: PasskeyRow) -> StoreResult<Self> {
        Ok(Passkey {
            id: PasskeyId(r.id),
            user_id: UserId(r.user_id),
            name: r.name,
            credential_id: r.credential_id,
            data: r.data,
            created_at: from_micros(r.created_at)?,
            last_used_at: r.last_used_at.map(from_micros).transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct CeremonyRow {
    id_hash: String,
    purpose: String,
    user_id: Option<i64>,
    state: String,
    created_at: i64,
    expires_at: i64,
}

impl TryFrom<CeremonyRow> for Ceremony {
    type Error = StoreError;

    fn try_from(r: CeremonyRow) -> StoreResult<Self> {
        let purpose = match (r.purpose.as_str(), r.user_id) {
            ("register", Some(user)) => CeremonyPurpose::Register(UserId(user)),
            ("sign_in", None) => CeremonyPurpose::SignIn,
            ("second_factor", Some(user)) => CeremonyPurpose::SecondFactor(UserId(user)),
            (other, _) => return Err(StoreError::Other(format!("corrupt ceremony purpose in database: {other}"))),
        };
        Ok(Ceremony {
            id_hash: r.id_hash,
            purpose,
            state: r.state,
            created_at: from_micros(r.created_at)?,
            expires_at: from_micros(r.expires_at)?,
        })
    }
}

#[async_trait]
impl PasskeyRepo for Database {
    async fn add_passkey(&self, passkey: &Passkey, audit: &AuditEntry) -> StoreResult<()> {
        let mut tx = self.begin().await.map_err(store_error)?;
        sqlx::query(&format!("INSERT INTO passkeys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"))
            .bind(passkey.id.0)
            .bind(passkey.user_id.0)
            .bind(&passkey.name)
            .bind(&passkey.credential_id)
            .bind(&passkey.data)
            .bind(to_micros(passkey.created_at))
            .bind(passkey.last_used_at.map(to_micros))
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        commit_with_audit(tx, std::slice::from_ref(audit)).await
    }

    async fn passkeys_of(&self, user: UserId) -> StoreResult<Vec<Passkey>> {
        let rows: Vec<PasskeyRow> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY id"))
                .bind(user.0)
                .fetch_all(&self.pool)
                .await
                .map_err(store_error)?;
        rows.into_iter().map(Passkey::try_from).collect()
    }

    async fn passkey_by_credential(&self, credential_id: &str) -> StoreResult<Option<Passkey>> {
        let row: Option<PasskeyRow> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM passkeys WHERE credential_id = $1"))
                .bind(credential_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
        row.map(Passkey::try_from).transpose()
    }

    async fn rename_passkey(&self, id: PasskeyId, user: UserId, name: &str) -> StoreResult<bool> {
        let renamed = sqlx::query("UPDATE passkeys SET name = $1 WHERE id = $2 AND user_id = $3")
            .bind(name)
            .bind(id.0)
            .bind(user.0)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(renamed.rows_affected() > 0)
    }

    async fn passkey_used(&self, id: PasskeyId, data: Option<&str>, now: OffsetDateTime) -> StoreResult<()> {
        sqlx::query("UPDATE passkeys SET last_used_at = $1, data = COALESCE($2, data) WHERE id = $3")
            .bind(to_micros(now))
            .bind(data)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn remove_passkey(&self, id: PasskeyId, user: UserId, audit: &AuditEntry) -> StoreResult<Unlinked> {
        self.remove_way_in(user, WayIn::Passkey(id.0), audit).await
    }

    async fn save_ceremony(&self, ceremony: &Ceremony) -> StoreResult<()> {
        let (purpose, user) = match ceremony.purpose {
            CeremonyPurpose::Register(user) => ("register", Some(user.0)),
            CeremonyPurpose::SignIn => ("sign_in", None),
            CeremonyPurpose::SecondFactor(user) => ("second_factor", Some(user.0)),
        };
        sqlx::query(&format!("INSERT INTO webauthn_ceremonies ({CEREMONY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"))
            .bind(&ceremony.id_hash)
            .bind(purpose)
            .bind(user)
            .bind(&ceremony.state)
            .bind(to_micros(ceremony.created_at))
            .bind(to_micros(ceremony.expires_at))
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn take_ceremony(&self, id_hash: &str) -> StoreResult<Option<Ceremony>> {
        let row: Option<CeremonyRow> =
            sqlx::query_as(&format!("DELETE FROM webauthn_ceremonies WHERE id_hash = $1 RETURNING {CEREMONY_COLUMNS}"))
                .bind(id_hash)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
        row.map(Ceremony::try_from).transpose()
    }

    async fn purge_ceremonies(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let purged = sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at < $1")
            .bind(to_micros(before))
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(purged.rows_affected())
    }
}
