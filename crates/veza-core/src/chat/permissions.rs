//! Who may do what in a community: a 64-bit permission set per role, overwrites per channel, and
//! the role hierarchy. Everything here is a pure function of its inputs — the use cases load the
//! roles and overwrites, this decides — so it is tested exhaustively without a store.
//!
//! Resolution follows Discord's order, which server owners already know:
//! 1. the community's owner, and anyone whose roles grant `ADMINISTRATOR`, may do everything;
//! 2. otherwise the base is the `@everyone` role's set united with the member's roles' sets;
//! 3. in a channel, the `@everyone` overwrite applies (deny, then allow), then the member's role
//!    overwrites together (all their denies, then all their allows: an allow on any role beats a
//!    deny on another), then the member's own overwrite (deny, then allow);
//! 4. without `VIEW_CHANNEL` a member has nothing in the channel; without `SEND_MESSAGES` none of
//!    the permissions that only qualify sending (mentions, attachments, links);
//! 5. a member in timeout keeps only viewing and reading history.
//!
//! A thread has no overwrites of its own: its parent's apply, and in it `SEND_MESSAGES` is
//! what `SEND_IN_THREADS` says in the parent (as in Discord, one may talk in threads of a
//! channel one may only read, or the reverse).

use crate::id::{RoleId, UserId};

/// A set of permissions: one bit each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Permissions(pub u64);

impl Permissions {
    pub const NONE: Self = Self(0);
    pub const VIEW_CHANNEL: Self = Self(1 << 0);
    pub const SEND_MESSAGES: Self = Self(1 << 1);
    pub const READ_MESSAGE_HISTORY: Self = Self(1 << 2);
    pub const ADD_REACTIONS: Self = Self(1 << 3);
    pub const ATTACH_FILES: Self = Self(1 << 4);
    pub const EMBED_LINKS: Self = Self(1 << 5);
    pub const MENTION_EVERYONE: Self = Self(1 << 6);
    pub const CREATE_THREADS: Self = Self(1 << 7);
    pub const SEND_IN_THREADS: Self = Self(1 << 8);
    pub const MANAGE_MESSAGES: Self = Self(1 << 9);
    pub const MANAGE_THREADS: Self = Self(1 << 10);
    pub const PIN_MESSAGES: Self = Self(1 << 11);
    pub const MANAGE_CHANNELS: Self = Self(1 << 12);
    pub const MANAGE_ROLES: Self = Self(1 << 13);
    pub const MANAGE_COMMUNITY: Self = Self(1 << 14);
    pub const CREATE_INVITES: Self = Self(1 << 15);
    pub const KICK_MEMBERS: Self = Self(1 << 16);
    pub const BAN_MEMBERS: Self = Self(1 << 17);
    pub const MODERATE_MEMBERS: Self = Self(1 << 18);
    pub const CHANGE_NICKNAME: Self = Self(1 << 19);
    pub const MANAGE_NICKNAMES: Self = Self(1 << 20);
    pub const VIEW_AUDIT_LOG: Self = Self(1 << 21);
    pub const ADMINISTRATOR: Self = Self(1 << 22);

    /// Every permission defined, each with its name (for the API and error messages).
    pub const NAMED: [(Self, &'static str); 23] = [
        (Self::VIEW_CHANNEL, "view_channel"),
        (Self::SEND_MESSAGES, "send_messages"),
        (Self::READ_MESSAGE_HISTORY, "read_message_history"),
        (Self::ADD_REACTIONS, "add_reactions"),
        (Self::ATTACH_FILES, "attach_files"),
        (Self::EMBED_LINKS, "embed_links"),
        (Self::MENTION_EVERYONE, "mention_everyone"),
        (Self::CREATE_THREADS, "create_threads"),
        (Self::SEND_IN_THREADS, "send_in_threads"),
        (Self::MANAGE_MESSAGES, "manage_messages"),
        (Self::MANAGE_THREADS, "manage_threads"),
        (Self::PIN_MESSAGES, "pin_messages"),
        (Self::MANAGE_CHANNELS, "manage_channels"),
        (Self::MANAGE_ROLES, "manage_roles"),
        (Self::MANAGE_COMMUNITY, "manage_community"),
        (Self::CREATE_INVITES, "create_invites"),
        (Self::KICK_MEMBERS, "kick_members"),
        (Self::BAN_MEMBERS, "ban_members"),
        (Self::MODERATE_MEMBERS, "moderate_members"),
        (Self::CHANGE_NICKNAME, "change_nickname"),
        (Self::MANAGE_NICKNAMES, "manage_nicknames"),
        (Self::VIEW_AUDIT_LOG, "view_audit_log"),
        (Self::ADMINISTRATOR, "administrator"),
    ];

    /// Every defined bit.
    pub const ALL: Self = {
        let mut bits = 0;
        let mut i = 0;
        while i < Self::NAMED.len() {
            bits |= Self::NAMED[i].0 .0;
            i += 1;
        }
        Self(bits)
    };

    /// What a new community's `@everyone` role may do.
    pub const DEFAULT_EVERYONE: Self = Self(
        Self::VIEW_CHANNEL.0
            | Self::SEND_MESSAGES.0
            | Self::READ_MESSAGE_HISTORY.0
            | Self::ADD_REACTIONS.0
            | Self::ATTACH_FILES.0
            | Self::EMBED_LINKS.0
            | Self::CREATE_THREADS.0
            | Self::SEND_IN_THREADS.0
            | Self::CREATE_INVITES.0
            | Self::CHANGE_NICKNAME.0,
    );

    /// Kept by a member in timeout.
    const IN_TIMEOUT: Self = Self(Self::VIEW_CHANNEL.0 | Self::READ_MESSAGE_HISTORY.0);

    /// Only meaningful together with `SEND_MESSAGES`.
    const QUALIFY_SENDING: Self = Self(Self::MENTION_EVERYONE.0 | Self::ATTACH_FILES.0 | Self::EMBED_LINKS.0);

    /// Bits that are not defined permissions are dropped: stored sets stay meaningful when a
    /// permission is retired.
    pub const fn from_bits_truncate(bits: u64) -> Self {
        Self(bits & Self::ALL.0)
    }

    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    pub const fn without(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    /// `self` with `deny` removed, then `allow` added: one overwrite applied.
    pub const fn overwritten(self, allow: Self, deny: Self) -> Self {
        self.without(deny).union(allow)
    }

    /// The names of the permissions in the set, in definition order.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMED.iter().filter(|(p, _)| self.contains(*p)).map(|(_, name)| *name).collect()
    }

    /// A set from permission names; the unknown name is the error.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, &'a str> {
        names.into_iter().try_fold(Self::NONE, |set, name| {
            Self::NAMED.iter().find(|(_, n)| *n == name).map(|(p, _)| set.union(*p)).ok_or(name)
        })
    }
}

/// A role as resolution needs it. The `@everyone` role has position 0; higher positions rank
/// higher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role {
    pub id: RoleId,
    pub position: u32,
    pub permissions: Permissions,
}

/// Whom a channel overwrite is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OverwriteTarget {
    Role(RoleId),
    Member(UserId),
}

/// A channel's exception to the community-wide permissions of one role or member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overwrite {
    pub target: OverwriteTarget,
    pub allow: Permissions,
    pub deny: Permissions,
}

/// A member as resolution needs them: who, their roles (without `@everyone`), whether they own
/// the community, and whether they are in timeout now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberContext<'a> {
    pub user: UserId,
    pub roles: &'a [Role],
    pub everyone: Role,
    pub is_owner: bool,
    pub timed_out: bool,
}

impl MemberContext<'_> {
    /// Bypasses every rule: the owner, or an administrator.
    fn bypasses(&self) -> bool {
        self.is_owner || self.community_base().contains(Permissions::ADMINISTRATOR)
    }

    fn community_base(&self) -> Permissions {
        self.roles.iter().fold(self.everyone.permissions, |set, role| set.union(role.permissions))
    }

    /// What the member may do community-wide (outside any channel).
    pub fn community_permissions(&self) -> Permissions {
        if self.bypasses() {
            return Permissions::ALL;
        }
        let base = self.community_base();
        if self.timed_out {
            return Permissions(base.0 & Permissions::IN_TIMEOUT.0);
        }
        base
    }

    /// What the member may do in a channel with these overwrites.
    pub fn channel_permissions(&self, overwrites: &[Overwrite]) -> Permissions {
        if self.bypasses() {
            return Permissions::ALL;
        }
        self.finish(self.overwritten(overwrites))
    }

    /// What the member may do in a thread of a channel with these overwrites.
    pub fn thread_permissions(&self, parent_overwrites: &[Overwrite]) -> Permissions {
        if self.bypasses() {
            return Permissions::ALL;
        }
        let set = self.overwritten(parent_overwrites);
        let set = match set.contains(Permissions::SEND_IN_THREADS) {
            true => set.union(Permissions::SEND_MESSAGES),
            false => set.without(Permissions::SEND_MESSAGES),
        };
        self.finish(set)
    }

    /// Steps 2 and 3: the community base with a channel's overwrites applied.
    fn overwritten(&self, overwrites: &[Overwrite]) -> Permissions {
        let mut set = self.community_base();
        let of = |target: OverwriteTarget| overwrites.iter().find(|o| o.target == target);
        if let Some(o) = of(OverwriteTarget::Role(self.everyone.id)) {
            set = set.overwritten(o.allow, o.deny);
        }
        let (allow, deny) = self
            .roles
            .iter()
            .filter_map(|role| of(OverwriteTarget::Role(role.id)))
            .fold((Permissions::NONE, Permissions::NONE), |(a, d), o| (a.union(o.allow), d.union(o.deny)));
        set = set.overwritten(allow, deny);
        if let Some(o) = of(OverwriteTarget::Member(self.user)) {
            set = set.overwritten(o.allow, o.deny);
        }
        set
    }

    /// Steps 4 and 5.
    fn finish(&self, mut set: Permissions) -> Permissions {
        if !set.contains(Permissions::VIEW_CHANNEL) {
            return Permissions::NONE;
        }
        if !set.contains(Permissions::SEND_MESSAGES) {
            set = set.without(Permissions::QUALIFY_SENDING);
        }
        if self.timed_out {
            set = Permissions(set.0 & Permissions::IN_TIMEOUT.0);
        }
        set
    }

    /// The position of the member's highest role (0: only `@everyone`).
    pub fn highest_position(&self) -> u32 {
        self.roles.iter().map(|r| r.position).max().unwrap_or(0)
    }

    /// Whether the member may act on (edit, assign, remove) a role at `position`: only the
    /// owner, or a member whose highest role is strictly above it.
    pub fn outranks_role(&self, position: u32) -> bool {
        self.is_owner || self.highest_position() > position
    }

    /// Whether the member may act on (kick, ban, time out, rename) `target`: never the owner,
    /// never oneself; the owner anyone else; others only members strictly below their highest
    /// role.
    pub fn outranks_member(&self, target: &MemberContext<'_>) -> bool {
        if target.is_owner || target.user == self.user {
            return false;
        }
        self.is_owner || self.highest_position() > target.highest_position()
    }
}

#[cfg(test)]
mod tests;
