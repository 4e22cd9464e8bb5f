//! Communities and who is in them: members, roles, invites, bans and timeouts. The values here
//! validate themselves; the rules of who may change what are in `chat/communities.rs` (the use
//! cases) on top of `chat/permissions.rs` (the pure model).

use rand::Rng;
use time::{Duration, OffsetDateTime};

use crate::chat::permissions::{Permissions, Role};
use crate::error::FieldError;
use crate::id::{CommunityId, RoleId, UserId};

/// A community: a group of people with channels, roles and an owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Community {
    pub id: CommunityId,
    pub name: String,
    pub description: Option<String>,
    pub owner_id: UserId,
    pub created_at: OffsetDateTime,
}

/// A role of a community. The `@everyone` role has the community's id and position 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommunityRole {
    pub id: RoleId,
    pub community_id: CommunityId,
    pub name: String,
    pub permissions: Permissions,
    pub position: u32,
    pub created_at: OffsetDateTime,
}

impl CommunityRole {
    pub fn is_everyone(&self) -> bool {
        self.id == everyone_role(self.community_id)
    }

    pub fn as_role(&self) -> Role {
        Role { id: self.id, position: self.position, permissions: self.permissions }
    }
}

/// The id of a community's `@everyone` role: the community's own.
pub fn everyone_role(community: CommunityId) -> RoleId {
    RoleId(community.0)
}

/// Someone in a community.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub community_id: CommunityId,
    pub user_id: UserId,
    pub nickname: Option<String>,
    /// Their roles besides `@everyone`.
    pub roles: Vec<RoleId>,
    pub joined_at: OffsetDateTime,
    /// Until when they may only read.
    pub timed_out_until: Option<OffsetDateTime>,
}

/// A code that lets people join a community.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    pub code: String,
    pub community_id: CommunityId,
    pub created_by: UserId,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub max_uses: Option<u32>,
    pub uses: u32,
}

impl Invite {
    pub fn usable(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_none_or(|at| now < at) && self.max_uses.is_none_or(|max| self.uses < max)
    }
}

/// Someone kept out of a community.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    pub community_id: CommunityId,
    pub user_id: UserId,
    pub reason: Option<String>,
    pub banned_by: UserId,
    pub created_at: OffsetDateTime,
}

/// How joining through an invite went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Joined {
    Joined(Member),
    /// Already a member: nothing changed, the invite was not used up.
    AlreadyMember(Member),
    /// Expired, used up or unknown.
    InviteInvalid,
    Banned,
}

pub const NAME_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 1000;
pub const NICKNAME_MAX: usize = 32;
pub const REASON_MAX: usize = 512;
/// How far back a ban can delete the banned person's messages.
pub const DELETE_MESSAGES_MAX_HOURS: u32 = 7 * 24;
/// The highest position a role can have.
pub const POSITION_MAX: u32 = 1000;
/// Roles a community may have besides `@everyone`.
pub const ROLES_MAX: usize = 250;
/// The longest timeout, as Discord's.
pub const TIMEOUT_MAX: Duration = Duration::days(28);
/// The longest an invite can be valid; `None` (never expiring) is allowed too.
pub const INVITE_AGE_MAX: Duration = Duration::days(30);
pub const INVITE_USES_MAX: u32 = 10_000;

/// A display text: trimmed, 1..=max characters, no control characters.
pub fn text(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldError::new(field, "required", format!("{field} must not be blank")));
    }
    if value.chars().count() > max {
        return Err(FieldError::new(field, "too_long", format!("{field} must be at most {max} characters")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(FieldError::new(field, "invalid_chars", format!("{field} must not contain control characters")));
    }
    Ok(value.to_string())
}

/// An optional text: blank means none.
pub fn optional_text(field: &str, raw: Option<&str>, max: usize) -> Result<Option<String>, FieldError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => text(field, value, max).map(Some),
    }
}

/// A new invite code: 10 characters of [A-Za-z0-9] (59 bits), unguessable in practice.
pub fn invite_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    (0..10).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

/// Whether a presented code can be an invite code at all (so odd input never reaches the store).
pub fn looks_like_invite_code(code: &str) -> bool {
    (4..=32).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_trimmed_bounded_and_printable() {
        assert_eq!(text("name", "  Lo-fi Lounge ", NAME_MAX).expect("ok"), "Lo-fi Lounge");
        assert_eq!(text("name", "   ", NAME_MAX).expect_err("blank").code, "required");
        assert_eq!(text("name", &"x".repeat(101), NAME_MAX).expect_err("long").code, "too_long");
        assert_eq!(text("name", "a\u{7}b", NAME_MAX).expect_err("bell").code, "invalid_chars");
        assert_eq!(optional_text("description", Some("  "), DESCRIPTION_MAX).expect("none"), None);
    }

    #[test]
    fn invite_codes_are_distinct_and_recognisable() {
        let a = invite_code();
        assert_eq!(a.len(), 10);
        assert!(looks_like_invite_code(&a));
        assert_ne!(a, invite_code());
        assert!(!looks_like_invite_code("../../etc"));
    }

    #[test]
    fn invites_stop_at_their_expiry_or_their_last_use() {
        let now = OffsetDateTime::now_utc();
        let invite = Invite {
            code: "abc".into(),
            community_id: CommunityId(1),
            created_by: UserId(1),
            created_at: now,
            expires_at: Some(now + Duration::hours(1)),
            max_uses: Some(2),
            uses: 1,
        };
        assert!(invite.usable(now));
        assert!(!invite.usable(now + Duration::hours(1)));
        assert!(!Invite { uses: 2, ..invite.clone() }.usable(now));
        assert!(Invite { max_uses: None, expires_at: None, uses: 99, ..invite }.usable(now));
    }
}
