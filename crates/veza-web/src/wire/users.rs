//! Accounts as the API shows them: the caller's own, and anyone's public profile, each with the
//! counts of the social layer.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use veza_core::id::UserId;
use veza_core::social::{Person, UserCounts};
use veza_core::user::Role;

/// The caller's own account, private fields included.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub email_verified: bool,
    pub role: Role,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub avatar_url: Option<String>,
    pub location: Option<String>,
    pub links: Vec<String>,
    #[serde(flatten)]
    pub counts: UserCountsResponse,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<Person> for MeResponse {
    fn from(Person { user: u, counts }: Person) -> Self {
        Self {
            counts: counts.into(),
            id: u.id,
            username: u.username.as_str().to_string(),
            email: u.email.as_str().to_string(),
            email_verified: u.email_verified,
            role: u.role,
            display_name: u.profile.display_name,
            bio: u.profile.bio,
            avatar_url: u.profile.avatar_url,
            location: u.profile.location,
            links: u.profile.links,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// Anyone's public profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    pub id: UserId,
    pub username: String,
    pub role: Role,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub avatar_url: Option<String>,
    pub location: Option<String>,
    pub links: Vec<String>,
    #[serde(flatten)]
    pub counts: UserCountsResponse,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<Person> for UserResponse {
    fn from(Person { user: u, counts }: Person) -> Self {
        Self {
            counts: counts.into(),
            id: u.id,
            username: u.username.as_str().to_string(),
            role: u.role,
            display_name: u.profile.display_name,
            bio: u.profile.bio,
            avatar_url: u.profile.avatar_url,
            location: u.profile.location,
            links: u.profile.links,
            created_at: u.created_at,
        }
    }
}

/// What every user object counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserCountsResponse {
    pub follower_count: u64,
    pub following_count: u64,
    /// Public tracks.
    pub track_count: u64,
}

impl From<UserCounts> for UserCountsResponse {
    fn from(c: UserCounts) -> Self {
        Self { follower_count: c.followers, following_count: c.following, track_count: c.tracks }
    }
}
