//! Administrative account changes. Issued from the command line for now; the admin API will call
//! the same use cases.

use crate::audit::{AuditAction, RequestMeta};
use crate::error::{CoreError, FieldError};
use crate::id::UserId;
use crate::user::{Role, User, Username};

use super::Accounts;

/// Longest reason recorded for disabling an account.
pub const DISABLE_REASON_MAX: usize = 500;

impl Accounts {
    /// Disables an account (`reason: Some`) — which ends all its sessions — or enables it again
    /// (`None`). The last enabled administrator cannot be disabled: someone must stay able to undo
    /// it.
    pub async fn set_disabled(
        &self,
        actor: Option<UserId>,
        username: &str,
        reason: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<User, CoreError> {
        let reason = reason.map(parse_reason).transpose()?;
        let name = Username::parse(username).map_err(|_| CoreError::NotFound("user"))?;
        let user = self.deps.users.by_username(&name).await?.ok_or(CoreError::NotFound("user"))?;
        if reason.is_some()
            && user.role == Role::Admin
            && !user.disabled
            && self.deps.users.count_active_with_role(Role::Admin).await? <= 1
        {
            return Err(CoreError::Forbidden("the last enabled administrator cannot be disabled"));
        }
        let action = if reason.is_some() { AuditAction::AdminUserDisabled } else { AuditAction::AdminUserEnabled };
        let mut entry = self.audit_entry(action, actor, Some(user.id), meta);
        if let Some(reason) = &reason {
            entry.detail.insert("reason".into(), reason.clone().into());
        }
        self.deps
            .users
            .set_disabled(user.id, reason.as_deref(), self.now(), &entry)
            .await?
            .ok_or(CoreError::NotFound("user"))
    }
}

fn parse_reason(raw: &str) -> Result<String, CoreError> {
    let reason = raw.trim();
    let fail = |code, message: String| Err(CoreError::invalid(FieldError::new("reason", code, message)));
    if reason.is_empty() {
        return fail("required", "say why the account is disabled".into());
    }
    if reason.chars().count() > DISABLE_REASON_MAX {
        return fail("too_long", format!("reason must be at most {DISABLE_REASON_MAX} characters"));
    }
    if reason.chars().any(char::is_control) {
        return fail("invalid_chars", "reason must not contain control characters".into());
    }
    Ok(reason.to_string())
}
