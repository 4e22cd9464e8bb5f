//! Reading the audit log: the whole log for administrators, one's own security events for
//! everyone.

use crate::audit::{AuditEntry, AuditQuery};
use crate::error::CoreError;
use crate::page::Page;

use super::{Accounts, Principal};

impl Accounts {
    /// The audit log, filtered. Administrators only; the role is checked against the account, not
    /// the token, so a demoted admin loses access within the user cache's lifetime (2 s by
    /// default; at once on the node that made the change).
    pub async fn audit_log(&self, principal: &Principal, query: AuditQuery) -> Result<Page<AuditEntry>, CoreError> {
        self.require_admin(principal, "the audit log is for administrators").await?;
        self.read_audit(query).await
    }

    /// Events where the caller acted or was acted upon.
    pub async fn security_events(
        &self,
        principal: &Principal,
        mut query: AuditQuery,
    ) -> Result<Page<AuditEntry>, CoreError> {
        self.me(principal).await?; // profile:read, and the account is enabled
        query.involving = Some(principal.user_id);
        self.read_audit(query).await
    }

    async fn read_audit(&self, query: AuditQuery) -> Result<Page<AuditEntry>, CoreError> {
        let rows = self.deps.audit.list(&query).await?;
        Ok(Page::from_rows(rows, query.page.limit, |e| e.id.0))
    }
}
