//! Reading a provider's JSON answers, bounded in size.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use veza_core::identity::ProviderProblem;

/// The most of an answer read from a provider.
const ANSWER_MAX: usize = 1024 * 1024;

/// An OAuth2 error answer (`{"error": "bad_verification_code", ...}`).
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody {
    pub error: String,
}

/// GETs `url` (with the bearer token, when given) and parses the JSON answer.
pub(crate) async fn get_json<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    bearer: Option<&str>,
) -> Result<T, ProviderProblem> {
    let mut request = http.get(url).header(reqwest::header::ACCEPT, "application/json");
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let mut response = request.send().await.map_err(|e| ProviderProblem::Unavailable(e.to_string()))?;
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| ProviderProblem::Unavailable(e.to_string()))? {
        if body.len() + chunk.len() > ANSWER_MAX {
            return Err(ProviderProblem::Invalid(format!("{url} answered with more than 1 MiB")));
        }
        body.extend_from_slice(&chunk);
    }
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(ProviderProblem::Refused(format!("{url} answered {status}")));
    }
    if !status.is_success() {
        return Err(ProviderProblem::Unavailable(format!("{url} answered {status}")));
    }
    serde_json::from_slice(&body).map_err(|e| ProviderProblem::Invalid(format!("{url} answered unexpected JSON: {e}")))
}

/// `base` and `path` joined with exactly one slash.
pub(crate) fn join(base: &str, path: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/'))
}
