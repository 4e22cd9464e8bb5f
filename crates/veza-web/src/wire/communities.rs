//! Bodies of the community routes: communities, members, roles and their permissions, invites
//! and bans.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use veza_core::chat::communities::CommunityView;
use veza_core::chat::community::{Ban, Community, CommunityRole, Invite, Member};
use veza_core::chat::permissions::Permissions;
use veza_core::id::{CommunityId, RoleId, UserId};

use super::{present, present_time, Whole};

/// `POST /api/v1/communities`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCommunityRequest {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$",
        example = "Lo-fi Lounge"
    )]
    pub name: String,
    #[schema(max_length = 1000, pattern = "^[^\\u0000-\\u0009\\u000b-\\u001f\\u007f-\\u009f]*$")]
    pub description: Option<String>,
}

/// `PATCH /api/v1/communities/{id}`: fields left out stay; a `null` description clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCommunityRequest {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 1000, pattern = "^[^\\u0000-\\u0009\\u000b-\\u001f\\u007f-\\u009f]*$")]
    pub description: Option<Option<String>>,
}

/// A community.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommunityResponse {
    pub id: CommunityId,
    pub name: String,
    pub description: Option<String>,
    pub owner_id: UserId,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// With `GET /api/v1/communities/{id}` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_count: Option<u64>,
    /// What the caller may do community-wide (with `GET /api/v1/communities/{id}` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub my_permissions: Option<Vec<String>>,
}

impl From<Community> for CommunityResponse {
    fn from(c: Community) -> Self {
        Self {
            id: c.id,
            name: c.name,
            description: c.description,
            owner_id: c.owner_id,
            created_at: c.created_at,
            member_count: None,
            my_permissions: None,
        }
    }
}

impl From<CommunityView> for CommunityResponse {
    fn from(v: CommunityView) -> Self {
        let names = v.my_permissions.names().into_iter().map(str::to_string).collect();
        Self { member_count: Some(v.member_count), my_permissions: Some(names), ..Self::from(v.community) }
    }
}

/// A member of a community.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberResponse {
    pub user_id: UserId,
    pub nickname: Option<String>,
    /// Their roles besides `@everyone`.
    pub roles: Vec<RoleId>,
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: OffsetDateTime,
    /// Until when they may only read.
    #[serde(with = "time::serde::rfc3339::option")]
    pub timed_out_until: Option<OffsetDateTime>,
}

impl From<Member> for MemberResponse {
    fn from(m: Member) -> Self {
        Self {
            user_id: m.user_id,
            nickname: m.nickname,
            roles: m.roles,
            joined_at: m.joined_at,
            timed_out_until: m.timed_out_until,
        }
    }
}

/// A page of members, by user id.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberPage {
    pub items: Vec<MemberResponse>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// `PATCH /api/v1/communities/{id}/members/{user_id}`: fields left out stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMemberRequest {
    /// `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 32, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub nickname: Option<Option<String>>,
    /// The member's roles besides `@everyone`, all of them.
    #[schema(max_items = 250)]
    pub roles: Option<Vec<RoleId>>,
    /// Read-only until then (at most 28 days ahead); `null`, or a time already past, ends a
    /// timeout.
    #[serde(default, deserialize_with = "present_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub timed_out_until: Option<Option<OffsetDateTime>>,
}

/// A permission's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PermissionName {
    ViewChannel,
    SendMessages,
    ReadMessageHistory,
    AddReactions,
    AttachFiles,
    EmbedLinks,
    MentionEveryone,
    CreateThreads,
    SendInThreads,
    ManageMessages,
    ManageThreads,
    PinMessages,
    ManageChannels,
    ManageRoles,
    ManageCommunity,
    CreateInvites,
    KickMembers,
    BanMembers,
    ModerateMembers,
    ChangeNickname,
    ManageNicknames,
    ViewAuditLog,
    Administrator,
}

impl From<PermissionName> for Permissions {
    fn from(name: PermissionName) -> Self {
        use PermissionName as N;
        match name {
            N::ViewChannel => Self::VIEW_CHANNEL,
            N::SendMessages => Self::SEND_MESSAGES,
            N::ReadMessageHistory => Self::READ_MESSAGE_HISTORY,
            N::AddReactions => Self::ADD_REACTIONS,
            N::AttachFiles => Self::ATTACH_FILES,
            N::EmbedLinks => Self::EMBED_LINKS,
            N::MentionEveryone => Self::MENTION_EVERYONE,
            N::CreateThreads => Self::CREATE_THREADS,
            N::SendInThreads => Self::SEND_IN_THREADS,
            N::ManageMessages => Self::MANAGE_MESSAGES,
            N::ManageThreads => Self::MANAGE_THREADS,
            N::PinMessages => Self::PIN_MESSAGES,
            N::ManageChannels => Self::MANAGE_CHANNELS,
            N::ManageRoles => Self::MANAGE_ROLES,
            N::ManageCommunity => Self::MANAGE_COMMUNITY,
            N::CreateInvites => Self::CREATE_INVITES,
            N::KickMembers => Self::KICK_MEMBERS,
            N::BanMembers => Self::BAN_MEMBERS,
            N::ModerateMembers => Self::MODERATE_MEMBERS,
            N::ChangeNickname => Self::CHANGE_NICKNAME,
            N::ManageNicknames => Self::MANAGE_NICKNAMES,
            N::ViewAuditLog => Self::VIEW_AUDIT_LOG,
            N::Administrator => Self::ADMINISTRATOR,
        }
    }
}

/// The permission set of a list of names.
pub fn permissions_of(names: &[PermissionName]) -> Permissions {
    names.iter().fold(Permissions::NONE, |set, name| set.union((*name).into()))
}

/// A role of a community.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleResponse {
    pub id: RoleId,
    pub name: String,
    #[schema(value_type = Vec<PermissionName>)]
    pub permissions: Vec<String>,
    /// 0 for `@everyone`; higher ranks higher.
    pub position: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<CommunityRole> for RoleResponse {
    fn from(r: CommunityRole) -> Self {
        let permissions = r.permissions.names().into_iter().map(str::to_string).collect();
        Self { id: r.id, name: r.name, permissions, position: r.position, created_at: r.created_at }
    }
}

/// `POST /api/v1/communities/{id}/roles` and `PATCH …/roles/{role_id}`: fields left out keep
/// their value (a new role: "new role", no permissions, position 1).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: Option<String>,
    #[schema(max_items = 23)]
    pub permissions: Option<Vec<PermissionName>>,
    /// At least 1 (0 is `@everyone`'s), below the caller's highest role.
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub position: Option<Whole>,
}

/// `POST /api/v1/communities/{id}/invites`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInviteRequest {
    /// Seconds it stays valid (default 7 days, at most 30 days; 0: never expires).
    #[schema(value_type = Option<u32>, maximum = 2592000)]
    pub max_age_secs: Option<Whole>,
    /// Times it can be used (default: unlimited).
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 10000)]
    pub max_uses: Option<Whole>,
}

/// An invite.
#[derive(Debug, Serialize, ToSchema)]
pub struct InviteResponse {
    pub code: String,
    pub community_id: CommunityId,
    pub created_by: UserId,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    pub max_uses: Option<u32>,
    pub uses: u32,
}

impl From<Invite> for InviteResponse {
    fn from(i: Invite) -> Self {
        Self {
            code: i.code,
            community_id: i.community_id,
            created_by: i.created_by,
            created_at: i.created_at,
            expires_at: i.expires_at,
            max_uses: i.max_uses,
            uses: i.uses,
        }
    }
}

/// What an invite leads to.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitePreviewResponse {
    pub code: String,
    pub community: CommunityResponse,
    pub member_count: u64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// `PUT /api/v1/communities/{id}/bans/{user_id}`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BanRequest {
    #[schema(max_length = 512, pattern = "^[^\\u0000-\\u0009\\u000b-\\u001f\\u007f-\\u009f]*$")]
    pub reason: Option<String>,
    /// Delete what they posted in the community in the last this many hours (at most 168).
    #[schema(value_type = Option<u32>, maximum = 168)]
    pub delete_message_hours: Option<Whole>,
}

/// A ban.
#[derive(Debug, Serialize, ToSchema)]
pub struct BanResponse {
    pub user_id: UserId,
    pub reason: Option<String>,
    pub banned_by: UserId,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<Ban> for BanResponse {
    fn from(b: Ban) -> Self {
        Self { user_id: b.user_id, reason: b.reason, banned_by: b.banned_by, created_at: b.created_at }
    }
}
