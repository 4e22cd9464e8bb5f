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
    #[param(
        pattern = "^([0-9]{1,18}|[0-8][0-9]{18}|9[0-1][0-9]{17}|92[0-1][0-9]{16}|922[0-2][0-9]{15}|9223[0-2][0-9]{14}|92233[0-6][0-9]{13}|922337[0-1][0-9]{12}|92233720[0-2][0-9]{10}|922337203[0-5][0-9]{9}|9223372036[0-7][0-9]{8}|92233720368[0-4][0-9]{7}|922337203685[0-3][0-9]{6}|9223372036854[0-6][0-9]{5}|92233720368547[0-6][0-9]{4}|922337203685477[0-4][0-9]{3}|9223372036854775[0-7][0-9]{2}|922337203685477580[0-6]|9223372036854775807)$"
    )]
    pub actor: Option<String>,
    /// Only this action.
    #[param(value_type = Option<AuditActionName>)]
    pub action: Option<String>,
    /// Entries at or after this RFC 3339 time.
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Entries before this RFC 3339 time.
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (opaque).
    #[param(
        pattern = "^([0-9]{1,18}|[0-8][0-9]{18}|9[0-1][0-9]{17}|92[0-1][0-9]{16}|922[0-2][0-9]{15}|9223[0-2][0-9]{14}|92233[0-6][0-9]{13}|922337[0-1][0-9]{12}|92233720[0-2][0-9]{10}|922337203[0-5][0-9]{9}|9223372036[0-7][0-9]{8}|92233720368[0-4][0-9]{7}|922337203685[0-3][0-9]{6}|9223372036854[0-6][0-9]{5}|92233720368547[0-6][0-9]{4}|922337203685477[0-4][0-9]{3}|9223372036854775[0-7][0-9]{2}|922337203685477580[0-6]|9223372036854775807)$"
    )]
    pub before: Option<String>,
}

/// The pattern of `actor` and `before` above: decimal strings that fit an `i64`.
#[cfg(test)]
const DECIMAL_I64: &str = "^([0-9]{1,18}|[0-8][0-9]{18}|9[0-1][0-9]{17}|92[0-1][0-9]{16}|922[0-2][0-9]{15}|9223[0-2][0-9]{14}|92233[0-6][0-9]{13}|922337[0-1][0-9]{12}|92233720[0-2][0-9]{10}|922337203[0-5][0-9]{9}|9223372036[0-7][0-9]{8}|92233720368[0-4][0-9]{7}|922337203685[0-3][0-9]{6}|9223372036854[0-6][0-9]{5}|92233720368547[0-6][0-9]{4}|922337203685477[0-4][0-9]{3}|9223372036854775[0-7][0-9]{2}|922337203685477580[0-6]|9223372036854775807)$";

/// The name of an audit action, as an enumeration in the OpenAPI document.
#[derive(Debug)]
pub struct AuditActionName;

impl utoipa::PartialSchema for AuditActionName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .enum_values(Some(AuditAction::ALL.iter().map(|a| a.as_str())))
            .description(Some("An audit action"))
            .into()
    }
}

impl utoipa::ToSchema for AuditActionName {}

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

#[cfg(test)]
mod tests {
    #[test]
    fn the_documented_id_pattern_is_the_one_ids_follow() {
        assert_eq!(super::DECIMAL_I64, veza_core::id::decimal_i64_pattern());
    }
}
