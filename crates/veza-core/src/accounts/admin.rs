//! Administrative account management: listing accounts, changing roles, disabling and enabling.
//! The admin API and the command line go through the same rules: every change is audited in the
//! transaction that makes it, disabling ends the account's sessions, and the last enabled
//! administrator can be neither demoted nor disabled — someone must stay able to undo mistakes.

use crate::api_key::Scope;
use crate::audit::{AuditAction, RequestMeta};
use crate::error::{CoreError, FieldError};
use crate::id::UserId;
use crate::page::Page;
use crate::ports::StoreError;
use crate::session::RevokeReason;
use crate::user::{AccountChange, Role, User, UserQuery, Username, SEARCH_MAX};

use super::{Accounts, Principal};

/// Longest reason recorded for disabling an account.
pub const DISABLE_REASON_MAX: usize = 500;

impl Accounts {
    /// The caller's account, if it is an enabled administrator — with two-factor authentication
    /// on, when the policy asks for it. Checked against the account, not the token's role claim.
    pub(super) async fn require_admin(&self, principal: &Principal, what: &'static str) -> Result<User, CoreError> {
        principal.require(Scope::Admin)?;
        let user = self.account(principal).await?;
        if user.role != Role::Admin {
            return Err(CoreError::Forbidden(what));
        }
        if self.deps.policy.admins_need_second_factor && !self.totp_enabled(&user).await? {
            return Err(CoreError::Forbidden(
                "administrators must turn on two-factor authentication first (POST /api/v1/me/2fa/totp/setup)",
            ));
        }
        Ok(user)
    }

    /// Accounts, newest first, filtered by a search string, role and state.
    pub async fn list_users(&self, principal: &Principal, mut query: UserQuery) -> Result<Page<User>, CoreError> {
        self.require_admin(principal, "managing users is for administrators").await?;
        if let Some(search) = &query.search {
            if search.chars().count() > SEARCH_MAX || search.chars().any(char::is_control) {
                return Err(CoreError::invalid(FieldError::new(
                    "q",
                    "invalid",
                    format!("search at most {SEARCH_MAX} characters, without control characters"),
                )));
            }
            query.search = Some(search.to_lowercase()).filter(|s| !s.is_empty());
        }
        let rows = self.deps.users.list_users(&query).await?;
        Ok(Page::from_rows(rows, query.page.limit, |u| u.id.0))
    }

    /// An administrator ends every session of an account (a stolen device, a suspected
    /// intrusion) without disabling it; returns how many ended.
    pub async fn end_user_sessions(
        &self,
        principal: &Principal,
        id: UserId,
        meta: &RequestMeta,
    ) -> Result<u64, CoreError> {
        let admin = self.require_admin(principal, "managing users is for administrators").await?;
        let user = self.deps.users.by_id_fresh(id).await?.ok_or(CoreError::NotFound("user"))?;
        let entry = self.audit_entry(AuditAction::AdminSessionsRevoked, Some(admin.id), Some(user.id), meta);
        let n = self.deps.sessions.revoke_all(user.id, RevokeReason::EndedByAdmin, self.now(), &entry).await?;
        self.signed_out(user.id, Some(super::SignedOut::Sessions { keep: None })).await;
        Ok(n)
    }

    /// An administrator changes another account (or their own) through the API.
    pub async fn update_user(
        &self,
        principal: &Principal,
        id: UserId,
        change: AccountChange,
        meta: &RequestMeta,
    ) -> Result<User, CoreError> {
        let admin = self.require_admin(principal, "managing users is for administrators").await?;
        let user = self.deps.users.by_id_fresh(id).await?.ok_or(CoreError::NotFound("user"))?;
        self.change_account(Some(admin.id), user, change, meta).await
    }

    /// Disables an account (`reason: Some`) or enables it again (`None`), by username: the
    /// command line's way in.
    pub async fn set_disabled(
        &self,
        actor: Option<UserId>,
        username: &str,
        reason: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<User, CoreError> {
        let name = Username::parse(username).map_err(|_| CoreError::NotFound("user"))?;
        let user = self.deps.users.by_username(&name).await?.ok_or(CoreError::NotFound("user"))?;
        let change = AccountChange { role: None, disabled: Some(reason.map(str::to_string)) };
        self.change_account(actor, user, change, meta).await
    }

    async fn change_account(
        &self,
        actor: Option<UserId>,
        user: User,
        mut change: AccountChange,
        meta: &RequestMeta,
    ) -> Result<User, CoreError> {
        if let Some(Some(reason)) = &change.disabled {
            change.disabled = Some(Some(parse_reason(reason)?));
        }
        let disabling = matches!(change.disabled, Some(Some(_)));
        let mut entries = Vec::new();
        if let Some(role) = change.role.filter(|r| *r != user.role) {
            let mut e = self.audit_entry(AuditAction::AdminUserRoleChanged, actor, Some(user.id), meta);
            e.detail.insert("from".into(), user.role.as_str().into());
            e.detail.insert("to".into(), role.as_str().into());
            entries.push(e);
        }
        match &change.disabled {
            Some(Some(reason)) => {
                let mut e = self.audit_entry(AuditAction::AdminUserDisabled, actor, Some(user.id), meta);
                e.detail.insert("reason".into(), reason.clone().into());
                entries.push(e);
            }
            Some(None) if user.disabled => {
                entries.push(self.audit_entry(AuditAction::AdminUserEnabled, actor, Some(user.id), meta));
            }
            _ => {}
        }
        if entries.is_empty() {
            return Ok(user); // nothing changes: nothing to record
        }
        match self.deps.users.change_account(user.id, &change, self.now(), &entries).await {
            Ok(Some(user)) => {
                self.signed_out(user.id, disabling.then_some(super::SignedOut::Account)).await;
                Ok(user)
            }
            Ok(None) => Err(CoreError::NotFound("user")),
            // The store decides, inside its transaction; we only name the field that caused it.
            Err(StoreError::LastAdmin) => {
                let field = if disabling { "disabled_reason" } else { "role" };
                Err(CoreError::Conflict(FieldError::new(field, "last_admin", crate::ports::e_last_admin())))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// A reason must say something: at least one visible character, no control characters, at
/// most [`DISABLE_REASON_MAX`] characters as sent. Stored trimmed.
fn parse_reason(raw: &str) -> Result<String, CoreError> {
    let fail = |code, message: String| Err(CoreError::invalid(FieldError::new("disabled_reason", code, message)));
    if raw.trim().is_empty() {
        return fail("required", "say why the account is disabled".into());
    }
    if raw.chars().count() > DISABLE_REASON_MAX {
        return fail("too_long", format!("the reason must be at most {DISABLE_REASON_MAX} characters"));
    }
    if raw.chars().any(char::is_control) {
        return fail("invalid_chars", "the reason must not contain control characters".into());
    }
    Ok(raw.trim().to_string())
}
