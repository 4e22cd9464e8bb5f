//! GitHub's and Discord's descriptions of a person, turned into a profile.

use serde::Deserialize;
use veza_core::identity::{Provider, ProviderProblem, ProviderProfile};

use crate::http::{get_json, join};

#[derive(Debug, Deserialize)]
struct GitHubUser {
    id: i64,
    login: String,
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GitHubEmail {
    email: String,
    primary: bool,
    verified: bool,
}

/// GitHub: `/user` for the id and login, `/user/emails` for the primary address and whether
/// GitHub verified it (the public `email` of `/user` says neither).
pub(crate) async fn github(http: &reqwest::Client, api: &str, token: &str) -> Result<ProviderProfile, ProviderProblem> {
    let user: GitHubUser = get_json(http, &join(api, "user"), Some(token)).await?;
    let emails: Vec<GitHubEmail> = get_json(http, &join(api, "user/emails"), Some(token)).await?;
    let primary = emails.iter().find(|e| e.primary).or_else(|| emails.iter().find(|e| e.verified));
    Ok(ProviderProfile {
        provider: Provider::GitHub,
        subject: user.id.to_string(),
        email: primary.map(|e| e.email.clone()),
        email_verified: primary.is_some_and(|e| e.verified),
        name_hint: Some(user.login).or(user.name),
    })
}

#[derive(Debug, Deserialize)]
struct DiscordUser {
    id: String,
    username: String,
    global_name: Option<String>,
    email: Option<String>,
    #[serde(default)]
    verified: bool,
}

/// Discord: `/users/@me`, whose `verified` says whether Discord verified the address.
pub(crate) async fn discord(
    http: &reqwest::Client,
    api: &str,
    token: &str,
) -> Result<ProviderProfile, ProviderProblem> {
    let user: DiscordUser = get_json(http, &join(api, "users/@me"), Some(token)).await?;
    if user.id.is_empty() || !user.id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ProviderProblem::Invalid(format!("Discord's user id `{}` is not a snowflake", user.id)));
    }
    Ok(ProviderProfile {
        provider: Provider::Discord,
        subject: user.id,
        email_verified: user.email.is_some() && user.verified,
        email: user.email,
        name_hint: Some(user.username).or(user.global_name),
    })
}
