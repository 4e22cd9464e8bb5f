//! Users: the account entity and the value objects that guard its fields. Each `parse` returns a
//! [`FieldError`] naming the rule that failed; once constructed, a value is valid by type.

use std::collections::HashSet;
use std::sync::OnceLock;

use time::OffsetDateTime;

use crate::error::FieldError;
use crate::id::UserId;

/// What an account may do. Ordered: each role has every power of the ones before it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Moderator,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Moderator => "moderator",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(Self::User),
            "moderator" => Some(Self::Moderator),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// 3–32 characters of `[A-Za-z0-9_.]`, stored lowercased, so usernames are unique regardless of
/// case and always spelled one way. Nothing is trimmed: what the client sends is checked as sent,
/// exactly as the OpenAPI pattern `^[A-Za-z0-9_.]{3,32}$` says.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub const MIN: usize = 3;
    pub const MAX: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let name = raw.to_ascii_lowercase();
        let err = |code, msg: String| Err(FieldError::new("username", code, msg));
        let len = name.chars().count();
        if len < Self::MIN {
            return err("too_short", format!("username must be at least {} characters", Self::MIN));
        }
        if len > Self::MAX {
            return err("too_long", format!("username must be at most {} characters", Self::MAX));
        }
        if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.') {
            return err("invalid_chars", "username may contain only letters a-z, digits, '_' and '.'".into());
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address as the user typed it, compared case-insensitively through
/// [`Email::normalized`]. The rules are deliberately conservative — what mail can be delivered
/// to — and those of the OpenAPI pattern: a local part that is a dot-atom of ASCII letters,
/// digits and `!#$%&'*+/=?^_`{|}~-` (dots neither first, last nor doubled), of at most 64
/// characters (the one rule the pattern leaves out, so that fuzzers can generate from it); a
/// dotted ASCII domain of letters, digits and inner hyphens (internationalised domains in their
/// `xn--` form); at most 254 characters in all.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX: usize = 254; // RFC 5321 path limit minus the angle brackets

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let email = raw;
        let invalid = |msg: &str| Err(FieldError::new("email", "invalid", msg.to_string()));
        if email.is_empty() {
            return invalid("email is required");
        }
        if email.chars().count() > Self::MAX {
            return Err(FieldError::new(
                "email",
                "too_long",
                format!("email must be at most {} characters", Self::MAX),
            ));
        }
        let Some((local, domain)) = email.rsplit_once('@') else {
            return invalid("email must contain '@'");
        };
        if email.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';')) {
            return invalid("email must not contain spaces, control characters or <>\",;");
        }
        // What mail can be delivered to: a dot-atom of ASCII letters, digits and !#$%&'*+/=?^_`{|}~-.
        let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
        if local.is_empty() || local.split('.').any(|atom| atom.is_empty() || !atom.chars().all(atext)) {
            return invalid(
                "the part before '@' may hold ASCII letters, digits, dots (not first, last or twice in a row) \
                 and !#$%&'*+/=?^_`{|}~-",
            );
        }
        if local.len() > 64 {
            return Err(FieldError::new(
                "email",
                "local_part_too_long",
                "the part before '@' must be at most 64 characters",
            ));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
        };
        if labels.len() < 2 || !labels.iter().all(label_ok) {
            return invalid("the domain after '@' must look like example.com");
        }
        Ok(Self(email.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used for uniqueness and lookups.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A password that passed the policy: 8–128 characters of any kind, not one of the bundled
/// common passwords. Never printed: its `Debug` is redacted.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Common passwords (8 characters or more, lowercased), compiled from public breach-frequency
/// lists; any password matching one case-insensitively is refused.
static COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

fn common_passwords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON_PASSWORDS.lines().filter(|l| !l.is_empty()).collect())
}

impl Password {
    pub const MIN: usize = 8;
    pub const MAX: usize = 128;

    /// Checks the policy for a new password. `field` names the request field (`password`,
    /// `new_password`).
    pub fn parse_new(raw: &str, field: &str) -> Result<Self, FieldError> {
        let len = raw.chars().count();
        if len < Self::MIN {
            return Err(FieldError::new(
                field,
                "too_short",
                format!("password must be at least {} characters", Self::MIN),
            ));
        }
        if len > Self::MAX {
            return Err(FieldError::new(
                field,
                "too_long",
                format!("password must be at most {} characters", Self::MAX),
            ));
        }
        if common_passwords().contains(raw.to_lowercase().as_str()) {
            return Err(FieldError::new(
                field,
                "too_common",
                "this password is among the most common ones; choose another",
            ));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Public profile fields a user edits themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub avatar_url: Option<String>,
    pub location: Option<String>,
    pub links: Vec<String>,
}

/// A partial update of a [`Profile`]: `None` keeps a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfilePatch {
    pub display_name: Option<Option<String>>,
    pub bio: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
    pub location: Option<Option<String>>,
    pub links: Option<Vec<String>>,
}

pub const DISPLAY_NAME_MAX: usize = 64;
pub const BIO_MAX: usize = 1000;
pub const LOCATION_MAX: usize = 100;
pub const URL_MAX: usize = 2048;
pub const LINKS_MAX: usize = 5;

impl ProfilePatch {
    /// Validates every field present, reporting all failures together.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut text = |field: &str, value: &Option<Option<String>>, max: usize, multiline: bool| {
            if let Some(Some(v)) = value {
                if let Err(e) = check_text(field, v, max, multiline) {
                    errors.push(e);
                }
            }
        };
        text("display_name", &self.display_name, DISPLAY_NAME_MAX, false);
        text("bio", &self.bio, BIO_MAX, true);
        text("location", &self.location, LOCATION_MAX, false);
        if let Some(Some(url)) = &self.avatar_url {
            errors.extend(check_url("avatar_url", url).err());
        }
        if let Some(links) = &self.links {
            if links.len() > LINKS_MAX {
                errors.push(FieldError::new("links", "too_many", format!("at most {LINKS_MAX} links")));
            }
            for (i, link) in links.iter().enumerate().take(LINKS_MAX) {
                errors.extend(check_url(&format!("links.{i}"), link).err());
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The profile after this patch, with blank text fields stored as absent.
    pub fn apply(&self, profile: &Profile) -> Profile {
        let pick = |patch: &Option<Option<String>>, old: &Option<String>| match patch {
            None => old.clone(),
            Some(v) => v.as_ref().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
        };
        Profile {
            display_name: pick(&self.display_name, &profile.display_name),
            bio: pick(&self.bio, &profile.bio),
            avatar_url: pick(&self.avatar_url, &profile.avatar_url),
            location: pick(&self.location, &profile.location),
            links: self.links.clone().unwrap_or_else(|| profile.links.clone()),
        }
    }

    /// The same patch with text trimmed and blank text turned into "clear this field": the
    /// form stores write.
    pub fn normalized(&self) -> Self {
        let norm = |v: &Option<Option<String>>| {
            v.as_ref().map(|inner| inner.as_ref().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()))
        };
        Self {
            display_name: norm(&self.display_name),
            bio: norm(&self.bio),
            avatar_url: norm(&self.avatar_url),
            location: norm(&self.location),
            links: self.links.clone(),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The names of the fields this patch touches, for the audit log (never their values).
    pub fn field_names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.display_name.is_some() {
            names.push("display_name")
        }
        if self.bio.is_some() {
            names.push("bio")
        }
        if self.avatar_url.is_some() {
            names.push("avatar_url")
        }
        if self.location.is_some() {
            names.push("location")
        }
        if self.links.is_some() {
            names.push("links")
        }
        names
    }
}

fn check_text(field: &str, value: &str, max: usize, multiline: bool) -> Result<(), FieldError> {
    if value.chars().count() > max {
        return Err(FieldError::new(field, "too_long", format!("{field} must be at most {max} characters")));
    }
    let bad = value.chars().any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t')));
    if bad {
        return Err(FieldError::new(field, "invalid_chars", format!("{field} must not contain control characters")));
    }
    Ok(())
}

fn check_url(field: &str, url: &str) -> Result<(), FieldError> {
    if url.chars().count() > URL_MAX {
        return Err(FieldError::new(field, "too_long", format!("URL must be at most {URL_MAX} characters")));
    }
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    let host_ok = rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !host.contains('@')
    });
    if !host_ok || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FieldError::new(
            field,
            "invalid_url",
            "must be an http:// or https:// URL with a host and no spaces",
        ));
    }
    Ok(())
}

/// An account as the domain sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: Username,
    pub email: Email,
    pub email_verified: bool,
    pub role: Role,
    /// Why the account was disabled, when it is.
    pub disabled_reason: Option<String>,
    pub disabled: bool,
    pub profile: Profile,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Everything needed to store a new account.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub username: Username,
    pub email: Email,
    /// Whether the address is proved at creation (a provider vouched for it).
    pub email_verified: bool,
    /// `None` for an account made by signing in with a provider: it has no password until its
    /// owner sets one through a reset link.
    pub password_hash: Option<String>,
    pub role: Role,
    pub created_at: OffsetDateTime,
}

/// An administrator's change to an account; `None` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountChange {
    pub role: Option<Role>,
    /// `Some(Some(reason))` disables the account (ending its sessions), `Some(None)` enables it.
    pub disabled: Option<Option<String>>,
}

/// Whether an account is enabled, for filtering lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccountState {
    Enabled,
    Disabled,
}

/// A filtered, paged read of the accounts, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserQuery {
    /// A case-insensitive substring of the username or the email.
    pub search: Option<String>,
    pub role: Option<Role>,
    pub state: Option<AccountState>,
    pub page: crate::page::PageRequest,
}

/// The longest search string accepted.
pub const SEARCH_MAX: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(Username::parse("Alice.B_2").expect("valid").as_str(), "alice.b_2");
        assert_eq!(Username::parse(" alice").expect_err("space").code, "invalid_chars");
        for (raw, code) in [
            ("ab", "too_short"),
            (&"a".repeat(33)[..], "too_long"),
            ("al ice", "invalid_chars"),
            ("ålice", "invalid_chars"),
            ("a-b", "invalid_chars"),
        ] {
            assert_eq!(Username::parse(raw).expect_err(raw).code, code, "{raw}");
        }
    }

    #[test]
    fn emails() {
        assert!(Email::parse("Someone@Example.ORG").is_ok());
        assert_eq!(Email::parse("A@B.io").expect("valid").normalized(), "a@b.io");
        for bad in [
            "",
            "plain",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "@b.com",
            "a@.com",
            "a@b..com",
            "a@-b.com",
            "a<x>@b.com",
            " a@b.com",
            "a@bü.com",
            // Local parts mail cannot be delivered to.
            "a..b@c.com",
            ".a@c.com",
            "a.@c.com",
            "jos\u{e9}@c.com",
            "\u{a9}x@c.com",
            "a(b)@c.com",
            "]x@c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} accepted");
        }
        for good in ["first.last+tag@example.com", "o'brien@example.ie", "x!#$%&*/=?^_`{|}~-y@example.com"] {
            assert!(Email::parse(good).is_ok(), "{good} refused");
        }
        let long_local = format!("{}@b.com", "a".repeat(65));
        assert_eq!(Email::parse(&long_local).expect_err("long local").code, "local_part_too_long");
        assert_eq!(Email::parse(&format!("{}@b.com", "a".repeat(300))).expect_err("long").code, "too_long");
    }

    #[test]
    fn passwords() {
        assert!(Password::parse_new("correct horse battery", "password").is_ok());
        assert!(Password::parse_new("ünïcødé-✓-密码", "password").is_ok());
        assert_eq!(Password::parse_new("short", "password").expect_err("short").code, "too_short");
        assert_eq!(Password::parse_new(&"x".repeat(129), "password").expect_err("long").code, "too_long");
        assert_eq!(Password::parse_new("Password1", "password").expect_err("common").code, "too_common");
        assert_eq!(Password::parse_new("qwertyuiop", "password").expect_err("common").code, "too_common");
        assert!(!format!("{:?}", Password::parse_new("correct horse battery", "p").expect("ok")).contains("horse"));
    }

    #[test]
    fn profile_patch_validation_and_apply() {
        let patch = ProfilePatch {
            display_name: Some(Some("  DJ Nova ".into())),
            bio: Some(Some("line one\nline two".into())),
            avatar_url: Some(None),
            links: Some(vec!["https://nova.example/music".into()]),
            ..Default::default()
        };
        assert!(patch.validate().is_ok());
        let old = Profile {
            avatar_url: Some("https://x.example/a.png".into()),
            location: Some("Lyon".into()),
            ..Default::default()
        };
        let new = patch.apply(&old);
        assert_eq!(new.display_name.as_deref(), Some("DJ Nova"));
        assert_eq!(new.avatar_url, None);
        assert_eq!(new.location.as_deref(), Some("Lyon"));

        let bad = ProfilePatch {
            display_name: Some(Some("a\u{0}b".into())),
            avatar_url: Some(Some("javascript:alert(1)".into())),
            links: Some(vec!["ftp://x".into(); 6]),
            ..Default::default()
        };
        let fields: Vec<String> = bad.validate().expect_err("invalid").into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["display_name", "avatar_url", "links", "links.0", "links.1", "links.2", "links.3", "links.4"]
        );
    }
}
