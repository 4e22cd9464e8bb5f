//! Scoped API keys for scripts and integrations: what a key is, the scope catalogue, and the
//! key's wire format `vz_<id>_<secret>`. A key acts for its owner, never beyond the owner's
//! rights, and only within its scopes.

use time::OffsetDateTime;

use crate::id::{ApiKeyId, UserId};

/// What a key may do. Session tokens (a person logged in) have every scope their role allows.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub enum Scope {
    #[serde(rename = "profile:read")]
    ProfileRead,
    #[serde(rename = "profile:write")]
    ProfileWrite,
    #[serde(rename = "tracks:read")]
    TracksRead,
    #[serde(rename = "tracks:write")]
    TracksWrite,
    #[serde(rename = "chat:read")]
    ChatRead,
    #[serde(rename = "chat:write")]
    ChatWrite,
    /// Reading who follows, likes and reposts what.
    #[serde(rename = "social:read")]
    SocialRead,
    /// Following, liking and reposting in the owner's name: public acts, kept apart from
    /// `tracks:write` so that an uploading script cannot also speak for its owner.
    #[serde(rename = "social:write")]
    SocialWrite,
    /// Administration; effective only while the owner is an administrator.
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    pub const ALL: [Self; 9] = [
        Self::ProfileRead,
        Self::ProfileWrite,
        Self::TracksRead,
        Self::TracksWrite,
        Self::ChatRead,
        Self::ChatWrite,
        Self::SocialRead,
        Self::SocialWrite,
        Self::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProfileRead => "profile:read",
            Self::ProfileWrite => "profile:write",
            Self::TracksRead => "tracks:read",
            Self::TracksWrite => "tracks:write",
            Self::ChatRead => "chat:read",
            Self::ChatWrite => "chat:write",
            Self::SocialRead => "social:read",
            Self::SocialWrite => "social:write",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Scopes as stored: space-separated, sorted, without repeats.
pub fn scopes_to_text(scopes: &[Scope]) -> String {
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
}

pub fn scopes_from_text(text: &str) -> Option<Vec<Scope>> {
    text.split_whitespace().map(Scope::parse).collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub user_id: UserId,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
    pub last_used_ip: Option<String>,
}

/// A key to store: its secret only as a SHA-256 hash.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub key: ApiKey,
    pub secret_hash: String,
}

/// Every key starts with this, so secret scanners (and people) recognise a leaked one.
pub const PREFIX: &str = "vz_";

/// `vz_<id>_<secret>` → (id, secret). The id is decimal digits, so the first `_` after it is the
/// separator even though the base64url secret may contain `_` itself.
pub fn split_key(raw: &str) -> Option<(ApiKeyId, &str)> {
    let rest = raw.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let id = id.parse().ok()?;
    (secret.len() >= 43 && secret.len() <= 64).then_some((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_format_round_trips() {
        let secret = "a_b-".repeat(11);
        let raw = format!("vz_123_{secret}");
        assert_eq!(split_key(&raw), Some((ApiKeyId(123), secret.as_str())));
        for bad in ["", "vz_", "vz_12", "vz_x_abc", "xx_1_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "vz_1_short"]
        {
            assert_eq!(split_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn scopes_as_text() {
        let scopes = vec![Scope::ProfileRead, Scope::Admin];
        assert_eq!(scopes_to_text(&scopes), "profile:read admin");
        assert_eq!(scopes_from_text("profile:read admin"), Some(scopes));
        assert_eq!(scopes_from_text("profile:read root"), None);
    }
}
