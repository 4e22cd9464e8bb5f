//! Social sign-ins under way. A callback takes its flow with one conditional DELETE … RETURNING,
//! so a state is spent exactly once even when two callbacks race.

use async_trait::async_trait;
use time::OffsetDateTime;
use veza_core::id::UserId;
use veza_core::identity::{FlowIntent, OAuthFlow, Provider};
use veza_core::ports::{OAuthFlowRepo, StoreError, StoreResult};

use crate::error::store_error;
use crate::rows::{from_micros, to_micros};
use crate::Database;

const COLUMNS: &str =
    "state_hash, binding_hash, provider, link_user_id, pkce_verifier, nonce, requested_from, created_at, expires_at";

#[derive(sqlx::FromRow)]
struct FlowRow {
    state_hash: String,
    binding_hash: String,
    provider: String,
    link_user_id: Option<i64>,
    pkce_verifier: String,
    nonce: String,
    requested_from: Option<String>,
    created_at: i64,
    expires_at: i64,
}

impl TryFrom<FlowRow> for OAuthFlow {
    type Error = StoreError;

    fn try_from(r: FlowRow) -> StoreResult<Self> {
        Ok(OAuthFlow {
            state_hash: r.state_hash,
            binding_hash: r.binding_hash,
            provider: Provider::parse(&r.provider)
                .ok_or_else(|| StoreError::Other(format!("corrupt flow provider in database: {}", r.provider)))?,
            intent: r.link_user_id.map_or(FlowIntent::SignIn, |id| FlowIntent::Link(UserId(id))),
            pkce_verifier: r.pkce_verifier,
            nonce: r.nonce,
            requested_from: r.requested_from,
            created_at: from_micros(r.created_at)?,
            expires_at: from_micros(r.expires_at)?,
        })
    }
}

#[async_trait]
impl OAuthFlowRepo for Database {
    async fn save_flow(&self, flow: &OAuthFlow) -> StoreResult<()> {
        let link_user = match flow.intent {
            FlowIntent::SignIn => None,
            FlowIntent::Link(user) => Some(user.0),
        };
        sqlx::query(&format!("INSERT INTO oauth_flows ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"))
            .bind(&flow.state_hash)
            .bind(&flow.binding_hash)
            .bind(flow.provider.as_str())
            .bind(link_user)
            .bind(&flow.pkce_verifier)
            .bind(&flow.nonce)
            .bind(flow.requested_from.as_deref())
            .bind(to_micros(flow.created_at))
            .bind(to_micros(flow.expires_at))
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn take_flow(&self, state_hash: &str, binding_hash: &str) -> StoreResult<Option<OAuthFlow>> {
        let row: Option<FlowRow> = sqlx::query_as(&format!(
            "DELETE FROM oauth_flows WHERE state_hash = $1 AND binding_hash = $2 RETURNING {COLUMNS}"
        ))
        .bind(state_hash)
        .bind(binding_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(OAuthFlow::try_from).transpose()
    }

    async fn purge_flows(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let purged = sqlx::query("DELETE FROM oauth_flows WHERE expires_at < $1")
            .bind(to_micros(before))
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(purged.rows_affected())
    }
}
