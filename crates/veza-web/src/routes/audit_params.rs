//! The query parameters shared by both views of the audit log, and their validation.

use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::IntoParams;
use veza_core::audit::{AuditAction, AuditEntry, AuditQuery};
use veza_core::page::{Page, PageRequest};
use veza_core::FieldError;

use crate::problem::ApiError;
use crate::wire::{AuditEventResponse, AuditPage};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only entries whose actor is this user id.
    pub actor: Option<String>,
    /// Only this action, e.g. `auth.login.failed`.
    pub action: Option<String>,
    /// Entries at or after this RFC 3339 time.
    pub since: Option<String>,
    /// Entries before this RFC 3339 time.
    pub until: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub before: Option<String>,
}

impl AuditParams {
    pub fn into_query(self) -> Result<AuditQuery, ApiError> {
        let mut errors = Vec::new();
        let actor = self.actor.as_deref().and_then(|a| {
            a.parse().map_err(|_| errors.push(FieldError::new("actor", "invalid_id", "actor must be a user id"))).ok()
        });
        let action = self.action.as_deref().and_then(|a| {
            AuditAction::parse(a)
                .ok_or_else(|| {
                    errors.push(FieldError::new("action", "unknown_action", format!("unknown action `{a}`")))
                })
                .ok()
        });
        let mut time = |name: &str, v: Option<&str>| {
            v.and_then(|t| {
                OffsetDateTime::parse(t, &Rfc3339)
                    .map_err(|_| {
                        errors.push(FieldError::new(name, "invalid_time", format!("{name} must be an RFC 3339 time")))
                    })
                    .ok()
            })
        };
        let since = time("since", self.since.as_deref());
        let until = time("until", self.until.as_deref());
        let page = match PageRequest::parse(self.limit, self.before.as_deref()) {
            Ok(page) => Some(page),
            Err(veza_core::CoreError::Validation(fields)) => {
                errors.extend(fields);
                None
            }
            Err(other) => return Err(other.into()),
        };
        let (true, Some(page)) = (errors.is_empty(), page) else {
            return Err(ApiError::validation(errors));
        };
        Ok(AuditQuery { actor, involving: None, action, since, until, page })
    }
}

impl From<Page<AuditEntry>> for AuditPage {
    fn from(p: Page<AuditEntry>) -> Self {
        Self { items: p.items.into_iter().map(AuditEventResponse::from).collect(), next_cursor: p.next_cursor }
    }
}
