//! Rate limiting of the API: works out who is calling (authenticating the credential once, for
//! the handler to reuse), charges the request against its buckets (route, caller, global), and
//! either answers 429 or lets it through. Either way the response says where the caller stands:
//! `X-RateLimit-*` for the tightest bucket, and the IETF `RateLimit` / `RateLimit-Policy` pair
//! for every bucket checked.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use veza_core::accounts::{Credential, Principal};
use veza_core::rate_limit::{Caller, Check, Outcome, Policies, RateLimiter, RouteBucket};

use crate::extract::{authenticate, Authenticated};
use crate::middleware::client_ip::ClientIp;
use crate::problem::{retry_after_secs, ApiError};
use crate::state::AppState;

/// The limiter and the policies it enforces.
#[derive(Debug)]
pub struct RateLimits {
    pub limiter: Arc<dyn RateLimiter>,
    pub policies: Policies,
}

pub const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
pub const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
pub const RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
pub const RESET_AFTER: HeaderName = HeaderName::from_static("x-ratelimit-reset-after");
pub const BUCKET: HeaderName = HeaderName::from_static("x-ratelimit-bucket");
pub const SCOPE: HeaderName = HeaderName::from_static("x-ratelimit-scope");
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// Every header this middleware writes, for the CORS exposure list.
pub const HEADERS: [HeaderName; 8] = [LIMIT, REMAINING, RESET, RESET_AFTER, BUCKET, SCOPE, RATELIMIT, RATELIMIT_POLICY];

/// The middleware; the state is shared, not cloned, per request.
pub async fn limit(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let Some(limits) = &state.rate_limits else { return next.run(req).await };
    let (mut parts, body) = req.into_parts();
    let authenticated = authenticate(&mut parts, &state).await;
    let address = parts.extensions.get::<ClientIp>().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0);
    let caller = match &authenticated {
        Some(Ok(verified)) => caller_of(&verified.principal),
        // No credential, or one that failed: the handler will say so; it counts as anonymous.
        _ => Caller::Anonymous(address),
    };
    let bucket =
        parts.extensions.get::<MatchedPath>().and_then(|m| crate::routes::bucket_of(&parts.method, m.as_str()));
    let checks = limits.policies.plan(caller, Some(address), bucket);
    let outcomes = match limits.limiter.check(&checks).await {
        Ok(outcomes) => outcomes,
        Err(e) => return unavailable(&e).into_response(),
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    if let Some(refusal) = refusal(&checks, &outcomes) {
        let mut res = refusal.into_response();
        write_headers(res.headers_mut(), &checks, &outcomes, now);
        return res;
    }
    // Admitted: only now is an API key's use recorded (and audited).
    let authenticated = match authenticated {
        Some(Ok(verified)) => Some(verified.admit(&state).await.map_err(ApiError::from)),
        other => other.map(|failed| failed.map(|v| v.principal)),
    };
    if let Some(outcome) = authenticated {
        parts.extensions.insert(Authenticated(outcome));
    }
    let mut res = next.run(Request::from_parts(parts, body)).await;
    write_headers(res.headers_mut(), &checks, &outcomes, now);
    res
}

/// Whose buckets an authenticated caller draws on.
pub fn caller_of(principal: &Principal) -> Caller {
    match principal.credential {
        Credential::Session(_) => Caller::User(principal.user_id),
        Credential::ApiKey { id, .. } => Caller::ApiKey(id),
    }
}

/// The answer when the limiter cannot be asked (and the configuration says to refuse).
fn unavailable(e: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "rate limiter failed; refusing the request as configured");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "rate_limiter_unavailable",
        "rate limits cannot be checked right now; retry shortly",
    )
    .with_header(header::RETRY_AFTER, "1")
}

/// The 429 for the bucket that refused, if one did (the limiter stops at the first refusal).
fn refusal(checks: &[Check], outcomes: &[Outcome]) -> Option<ApiError> {
    let Some(Outcome::Limited { retry_after, .. }) = outcomes.last() else { return None };
    let check = checks.get(outcomes.len() - 1)?;
    let wait = retry_after_secs(*retry_after);
    let detail = format!(
        "too many requests in the `{}` bucket ({} per {} s, per {}); retry in {} s",
        check.policy.name,
        check.policy.limit,
        check.policy.period.as_secs(),
        check.scope.as_str(),
        wait,
    );
    let mut error = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", detail);
    error.headers.push((header::RETRY_AFTER, HeaderValue::from(wait)));
    Some(error)
}

/// Charges an action taken outside an HTTP request (over the gateway) against the same buckets
/// the REST route would: a send over the gateway counts as one over REST. Only for buckets kept
/// per caller (there is no request address here).
pub async fn charge(state: &AppState, principal: &Principal, bucket: RouteBucket) -> Result<(), ApiError> {
    let Some(limits) = &state.rate_limits else { return Ok(()) };
    debug_assert!(!bucket.keyed_by_address(), "{bucket:?} is charged per address, over HTTP only");
    let checks = limits.policies.plan(caller_of(principal), None, Some(bucket));
    let outcomes = limits.limiter.check(&checks).await.map_err(|e| unavailable(&e))?;
    refusal(&checks, &outcomes).map_or(Ok(()), Err)
}

/// Writes the rate-limit headers for the checks that were made. `now` is since the Unix epoch.
fn write_headers(headers: &mut HeaderMap, checks: &[Check], outcomes: &[Outcome], now: Duration) {
    // The tightest bucket: the one that refused, else the one with the fewest requests left
    // (the most specific on a tie, as checks run most specific first).
    let Some((check, outcome)) =
        checks.iter().zip(outcomes).min_by_key(|(_, o)| (!matches!(o, Outcome::Limited { .. }), o.remaining()))
    else {
        return;
    };
    headers.reserve(HEADERS.len());
    let reset_after = outcome.reset_after();
    let reset_at = ceil_secs(now + reset_after);
    headers.insert(LIMIT, HeaderValue::from(check.policy.limit));
    headers.insert(REMAINING, HeaderValue::from(outcome.remaining()));
    headers.insert(RESET, HeaderValue::from(reset_at));
    headers.insert(RESET_AFTER, decimal(format!("{:.3}", reset_after.as_secs_f64())));
    headers.insert(BUCKET, HeaderValue::from_static(check.policy.name));
    headers.insert(SCOPE, HeaderValue::from_static(check.scope.as_str()));

    let mut policy = String::new();
    let mut state = String::new();
    for (check, outcome) in checks.iter().zip(outcomes) {
        let sep = if policy.is_empty() { "" } else { ", " };
        let p = &check.policy;
        let _ = write!(policy, "{sep}\"{}\";q={};w={}", p.name, p.limit, p.period.as_secs());
        let _ = write!(state, "{sep}\"{}\";r={};t={}", p.name, outcome.remaining(), ceil_secs(outcome.reset_after()));
    }
    headers.insert(RATELIMIT_POLICY, decimal(policy));
    headers.insert(RATELIMIT, decimal(state));
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// A header value built from names we chose and digits: always valid.
fn decimal(text: String) -> HeaderValue {
    HeaderValue::try_from(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use veza_core::rate_limit::{Policy, Scope};

    #[test]
    fn headers_show_the_tightest_bucket_and_every_policy() {
        let checks = vec![
            Check { policy: Policy::parse("login", "10/1m").unwrap(), scope: Scope::Ip, subject: "a".into() },
            Check { policy: Policy::parse("anonymous", "300/1m").unwrap(), scope: Scope::Ip, subject: "a".into() },
            Check { policy: Policy::parse("global", "5000/1s").unwrap(), scope: Scope::Global, subject: String::new() },
        ];
        let outcomes = [
            Outcome::Allowed { remaining: 7, reset_after: Duration::from_millis(18_000) },
            Outcome::Allowed { remaining: 297, reset_after: Duration::from_millis(600) },
            Outcome::Allowed { remaining: 4999, reset_after: Duration::from_micros(200) },
        ];
        let mut h = HeaderMap::new();
        write_headers(&mut h, &checks, &outcomes, Duration::from_millis(1_700_000_000_500));
        assert_eq!(h[&LIMIT], "10");
        assert_eq!(h[&REMAINING], "7");
        assert_eq!(h[&RESET], "1700000019");
        assert_eq!(h[&RESET_AFTER], "18.000");
        assert_eq!(h[&BUCKET], "login");
        assert_eq!(h[&SCOPE], "ip");
        assert_eq!(h[&RATELIMIT_POLICY], r#""login";q=10;w=60, "anonymous";q=300;w=60, "global";q=5000;w=1"#);
        assert_eq!(h[&RATELIMIT], r#""login";r=7;t=18, "anonymous";r=297;t=1, "global";r=4999;t=1"#);

        // A refusal wins even when another bucket shows fewer requests left.
        let limited = [
            Outcome::Allowed { remaining: 0, reset_after: Duration::from_secs(60) },
            Outcome::Limited { retry_after: Duration::from_millis(200), reset_after: Duration::from_secs(60) },
        ];
        let mut h = HeaderMap::new();
        write_headers(&mut h, &checks, &limited, Duration::ZERO);
        assert_eq!(h[&BUCKET], "anonymous");
        assert_eq!(h[&RATELIMIT], r#""login";r=0;t=60, "anonymous";r=0;t=60"#);

        let mut h = HeaderMap::new();
        write_headers(&mut h, &checks, &[], Duration::ZERO);
        assert!(h.is_empty(), "nothing checked, nothing said");
    }
}
