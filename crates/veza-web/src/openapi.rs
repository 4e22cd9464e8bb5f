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
    paths(crate::routes::media::media),
    components(schemas(
        Problem,
        FieldError,
        AuditActionName,
        veza_core::user::AccountState,
        crate::routes::tracks::waveform::WaveformView
    )),
    tags(
        (name = "auth", description = "Registration, login, token refresh and logout"),
        (name = "me", description = "The caller's own account"),
        (name = "users", description = "Public profiles"),
        (name = "communities", description = "Communities: members, roles, invites, bans"),
        (name = "tracks", description = "Tracks: upload, processing, streaming and waveforms"),
        (name = "social", description = "Follows, likes, reposts and timed comments"),
        (name = "playlists", description = "Playlists, albums and EPs"),
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
                 profile:write, tracks:read, tracks:write, chat:read, chat:write, social:read, social:write, admin.",
            ))),
        );
    }
}

/// Every operation under `/api/v1` passes the rate limiter: each may answer 429, described once
/// in `components.responses` with its headers and referenced from every operation. Runs on the
/// assembled document (the route table adds the paths after [`ApiDoc`] is built).
pub fn add_rate_limit_responses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr, ResponseBuilder};

    let seconds = |description: &str| {
        HeaderBuilder::new()
            .schema(Some(
                utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::Integer).minimum(Some(0)),
            ))
            .description(Some(description))
            .build()
    };
    let text = |description: &str| {
        HeaderBuilder::new()
            .schema(Some(utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::String)))
            .description(Some(description))
            .build()
    };
    let response = ResponseBuilder::new()
        .description(
            "Too many requests: a rate-limit bucket is empty (`code: rate_limited`), or, on login, too many wrong \
             passwords for this account or from this address (`code: too_many_attempts`). Every rate-limited response, \
             successful or not, carries the X-RateLimit-* headers of the tightest bucket and the IETF RateLimit \
             and RateLimit-Policy fields for every bucket checked.",
        )
        .content(
            "application/problem+json",
            ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
        )
        .header("Retry-After", seconds("Seconds until the request can succeed"))
        .header("X-RateLimit-Limit", seconds("Requests the bucket allows per period"))
        .header("X-RateLimit-Remaining", seconds("Requests left in the bucket now"))
        .header("X-RateLimit-Reset", seconds("Unix time (seconds) at which the bucket is full again"))
        .header("X-RateLimit-Reset-After", text("Seconds, with milliseconds, until the bucket is full again"))
        .header("X-RateLimit-Bucket", text("The bucket: a route's (login, register, refresh, password_reset, magic_link, message_send, gateway_connect, track_upload), or anonymous, user, api_key or global"))
        .header("X-RateLimit-Scope", text("Whose bucket: ip, user, api_key or global"))
        .header("RateLimit", text("IETF draft field: each bucket's remaining requests (r) and reset (t)"))
        .header("RateLimit-Policy", text("IETF draft field: each bucket's quota (q) per window of w seconds"))
        .build();
    doc.components.get_or_insert_with(Default::default).responses.insert("RateLimited".into(), RefOr::T(response));
    for (_, item) in doc.paths.paths.iter_mut().filter(|(path, _)| path.starts_with("/api/v1/")) {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            operation
                .responses
                .responses
                .entry("429".into())
                .or_insert_with(|| RefOr::Ref(Ref::new("#/components/responses/RateLimited")));
        }
    }
}
