//! Identifiers: 64-bit time-ordered snowflakes, one Rust type per entity so a `UserId` can never be
//! passed where a `SessionId` is expected. On the wire they are decimal strings, because
//! JavaScript numbers lose precision above 2^53.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch of 2025-01-01T00:00:00Z, Veza's own epoch: 41 bits of
/// milliseconds from here last until the year 2094.
pub const EPOCH_MS: i64 = 1_735_689_600_000;
const NODE_BITS: u32 = 10;
const SEQUENCE_BITS: u32 = 12;
/// The largest node number a snowflake can carry (10 bits: 1024 nodes).
pub const MAX_NODE: u16 = (1 << NODE_BITS) - 1;
const MAX_SEQUENCE: i64 = (1 << SEQUENCE_BITS) - 1;

/// Makes new raw IDs. Port, so that tests can make predictable ones.
pub trait IdGenerator: Send + Sync + fmt::Debug {
    fn next_raw(&self) -> i64;
}

/// The production generator: `[41 bits ms since EPOCH_MS][10 bits node][12 bits sequence]`.
/// Up to 4096 IDs per millisecond per node; past that it waits for the next millisecond.
#[derive(Debug)]
pub struct Snowflake {
    node: i64,
    state: Mutex<(i64, i64)>, // (last millisecond, sequence within it)
}

impl Snowflake {
    pub fn new(node: u16) -> Result<Self, String> {
        if node > MAX_NODE {
            return Err(format!("node id {node} is above the maximum of {MAX_NODE}"));
        }
        Ok(Self { node: i64::from(node), state: Mutex::new((0, 0)) })
    }

    fn now_ms() -> i64 {
        let ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
        i64::try_from(ms).unwrap_or(i64::MAX) - EPOCH_MS
    }
}

impl IdGenerator for Snowflake {
    fn next_raw(&self) -> i64 {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (last, seq) = *state;
        let mut now = Self::now_ms().max(last); // a clock stepping back must not repeat IDs
        let seq = if now == last {
            if seq == MAX_SEQUENCE {
                while now <= last {
                    std::hint::spin_loop();
                    now = Self::now_ms().max(last);
                }
                0
            } else {
                seq + 1
            }
        } else {
            0
        };
        *state = (now, seq);
        (now << (NODE_BITS + SEQUENCE_BITS)) | (self.node << SEQUENCE_BITS) | seq
    }
}

/// The Unix time in milliseconds at which a snowflake was made.
pub fn snowflake_unix_ms(raw: i64) -> i64 {
    (raw >> (NODE_BITS + SEQUENCE_BITS)) + EPOCH_MS
}

/// The error for a string that is not an ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid id: expected a positive integer as a decimal string")]
pub struct InvalidId;

macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub i64);

        impl $name {
            pub fn new(gen: &dyn IdGenerator) -> Self {
                Self(gen.next_raw())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                // Digits only: "+1", " 1" and "-1" are not IDs.
                if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(InvalidId);
                }
                s.parse::<i64>().map(Self).map_err(|_| InvalidId)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                id_schema(stringify!($name))
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

/// A regular expression matching exactly the decimal strings of 1–19 digits whose value fits in
/// an `i64` (what `FromStr` for IDs and cursors accepts), so an OpenAPI client or fuzzer can tell
/// a valid ID from an invalid one without guessing.
pub fn decimal_i64_pattern() -> String {
    let max = i64::MAX.to_string(); // 19 digits
    let mut alternatives = vec![format!("[0-9]{{1,{}}}", max.len() - 1)];
    for (i, digit) in max.bytes().enumerate() {
        if digit > b'0' {
            let rest = max.len() - i - 1;
            let tail = if rest > 0 { format!("[0-9]{{{rest}}}") } else { String::new() };
            alternatives.push(format!("{}[0-{}]{tail}", &max[..i], char::from(digit - 1)));
        }
    }
    alternatives.push(max);
    format!("^({})$", alternatives.join("|"))
}

fn id_schema(name: &str) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .pattern(Some(decimal_i64_pattern()))
        .description(Some(format!("{name}: a 64-bit snowflake as a decimal string")))
        .examples(["1234567890123456789"])
        .into()
}

define_id!(
    /// A user account.
    UserId
);
define_id!(
    /// A login session: one family of rotating refresh tokens.
    SessionId
);
define_id!(
    /// One entry of the audit log.
    AuditId
);
define_id!(
    /// A scoped API key.
    ApiKeyId
);
define_id!(
    /// An external identity (a Google, GitHub or Discord account) linked to a user.
    IdentityId
);
define_id!(
    /// A passkey (a WebAuthn credential) of a user.
    PasskeyId
);
define_id!(
    /// A community: members, roles, channels.
    CommunityId
);
define_id!(
    /// A channel (or a category of channels) of a community.
    ChannelId
);
define_id!(
    /// A message in a channel.
    MessageId
);
define_id!(
    /// A file attached to a message.
    AttachmentId
);
define_id!(
    /// A role of a community (its `@everyone` role has the community's id).
    RoleId
);
define_id!(
    /// An uploaded track.
    TrackId
);
define_id!(
    /// A comment on a track.
    CommentId
);
define_id!(
    /// A playlist, album or EP.
    PlaylistId
);
define_id!(
    /// A track's place in a playlist (a track is in a playlist at most once).
    PlaylistItemId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflakes_increase_and_carry_time_and_node() {
        let gen = Snowflake::new(5).expect("valid node");
        let mut last = 0;
        for _ in 0..10_000 {
            let id = gen.next_raw();
            assert!(id > last, "{id} after {last}");
            last = id;
        }
        assert_eq!((last >> SEQUENCE_BITS) & i64::from(MAX_NODE), 5);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_millis() as i64;
        assert!((now - snowflake_unix_ms(last)).abs() < 5_000);
    }

    #[test]
    fn node_out_of_range_is_refused() {
        assert!(Snowflake::new(MAX_NODE + 1).is_err());
    }

    #[test]
    fn the_id_pattern_matches_exactly_what_parses() {
        // A regex engine is not a dependency of the core, so check the pattern's structure on
        // the boundary values by hand: each alternative is a prefix of i64::MAX, one smaller
        // digit, then any digits.
        let p = decimal_i64_pattern();
        assert!(p.starts_with("^([0-9]{1,18}|[0-8][0-9]{18}|9[0-1][0-9]{17}|92[0-1][0-9]{16}|"), "{p}");
        assert!(p.ends_with("|922337203685477580[0-6]|9223372036854775807)$"), "{p}");
        assert!(!p.contains("[0--"), "no alternative for a 0 digit: {p}");
        for s in ["0", "9223372036854775807", "0000000000000000001"] {
            assert!(s.parse::<UserId>().is_ok(), "{s}");
        }
        assert!("9223372036854775808".parse::<UserId>().is_err());
    }

    #[test]
    fn ids_are_strings_on_the_wire() {
        let id = UserId(9_007_199_254_740_993);
        let json = serde_json::to_string(&id).expect("serialize");
        assert_eq!(json, "\"9007199254740993\"");
        assert_eq!(serde_json::from_str::<UserId>(&json).expect("parse"), id);
        for bad in ["\"\"", "\"-1\"", "\"+1\"", "\"1a\"", "\"99999999999999999999\"", "12"] {
            assert!(serde_json::from_str::<UserId>(bad).is_err(), "{bad} accepted");
        }
    }
}
