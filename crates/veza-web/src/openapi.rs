//! The OpenAPI 3.1 document's frame: title, security schemes, tags and shared schemas. The
//! paths themselves come from each handler's `#[utoipa::path]`, collected by the route table.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use veza_core::FieldError;

use crate::problem::Problem;
use crate::routes::audit_params::AuditActionName;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Veza API",
        description = "A self-hostable backend for a music community. Every error is an RFC 9457 \
                       problem (`application/problem+json`) with a stable `code`. IDs are 64-bit \
                       integers sent as decimal strings.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later"),
    ),
    modifiers(&BearerAuth),
    components(schemas(Problem, FieldError, AuditActionName)),
    tags(
        (name = "auth", description = "Registration, login, token refresh and logout"),
        (name = "me", description = "The caller's own account"),
        (name = "users", description = "Public profiles"),
        (name = "admin", description = "Administration (admin role)"),
        (name = "ops", description = "Health, readiness, metrics and signing keys"),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from /api/v1/auth/login, /register or /refresh (EdDSA JWT, 15 minutes), \
                         or an API key (`vz_…`)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "An API key from /api/v1/me/api-keys (`vz_<id>_<secret>`), also accepted as `Authorization: Bearer`. \
                 The scopes each operation needs are listed in its security requirement: profile:read, \
                 profile:write, tracks:read, tracks:write, chat:read, chat:write, admin.",
            ))),
        );
    }
}
