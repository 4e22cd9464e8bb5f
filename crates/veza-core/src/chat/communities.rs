//! The community use cases: creating and editing communities, invites and joining, roles,
//! members (nicknames, roles, timeouts), kicks and bans. Every rule of who may act on whom is
//! `chat/permissions.rs`'s: this loads the roles and members it needs and asks it.

use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use crate::accounts::Principal;
use crate::api_key::Scope;
use crate::audit::{AuditAction, AuditEntry, RequestMeta};
use crate::chat::attachment;
use crate::chat::community::{
    self, Ban, Community, CommunityRole, Invite, Joined, Member, DELETE_MESSAGES_MAX_HOURS, DESCRIPTION_MAX,
    INVITE_AGE_MAX, INVITE_USES_MAX, NAME_MAX, NICKNAME_MAX, POSITION_MAX, REASON_MAX, ROLES_MAX, TIMEOUT_MAX,
};
use crate::chat::event::ChatEvent;
use crate::chat::permissions::{MemberContext, Permissions, Role};
use crate::clock::Clock;
use crate::error::{CoreError, FieldError};
use crate::id::{AuditId, CommunityId, IdGenerator, RoleId, UserId};
use crate::page::Page;
use crate::ports::{ChannelRepo, ChatEvents, CommunityRepo, MessageRepo, UserRepo};

/// What the community use cases need.
#[derive(Debug, Clone)]
pub struct ChatDeps {
    pub communities: Arc<dyn CommunityRepo>,
    pub channels: Arc<dyn ChannelRepo>,
    pub messages: Arc<dyn MessageRepo>,
    pub presence: Arc<dyn crate::ports::PresenceRepo>,
    pub users: Arc<dyn UserRepo>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGenerator>,
    /// Where committed changes are announced (the gateway's fan-out).
    pub events: Arc<dyn ChatEvents>,
    /// Where links to tracks in messages are looked up, for their cards.
    pub tracks: Arc<dyn crate::ports::TrackRepo>,
    /// The URLs a track link starts with (`{base}/tracks/{id}`): the web client's and the API's.
    pub track_link_bases: Vec<String>,
    /// Where messages' files are stored.
    pub store: Arc<dyn crate::catalog::media::ObjectStore>,
    /// Signs the URLs of messages' files (the media key, as for tracks).
    pub signer: crate::catalog::renditions::MediaSigner,
    /// The most bytes one message's files may hold together.
    pub attachment_max_bytes: u64,
    /// Prepended to signed media paths to make the URLs clients fetch (the public URL).
    pub media_url_base: String,
}

#[derive(Debug, Clone)]
pub struct Communities {
    pub(super) deps: ChatDeps,
}

/// A community as one of its members sees it.
#[derive(Debug, Clone)]
pub struct CommunityView {
    pub community: Community,
    pub member_count: u64,
    /// What the caller may do community-wide.
    pub my_permissions: Permissions,
}

/// Changes to a member; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct MemberPatch {
    /// `Some(None)` clears the nickname.
    pub nickname: Option<Option<String>>,
    pub roles: Option<Vec<RoleId>>,
    /// `Some(None)` ends a timeout.
    pub timed_out_until: Option<Option<OffsetDateTime>>,
}

/// A new role or changes to one.
#[derive(Debug, Clone, Default)]
pub struct RolePatch {
    pub name: Option<String>,
    pub permissions: Option<Permissions>,
    pub position: Option<u32>,
}

/// The caller inside a community: the community, its roles, and their membership.
pub(super) struct Actor {
    pub(super) community: Community,
    pub(super) roles: Vec<CommunityRole>,
    pub(super) member: Member,
    now: OffsetDateTime,
}

impl Actor {
    /// Another member of the same community, seen with the same roles and clock.
    pub(super) fn as_member(&self, member: Member) -> Actor {
        Actor { community: self.community.clone(), roles: self.roles.clone(), member, now: self.now }
    }

    pub(super) fn everyone(&self) -> Role {
        let everyone = self.roles.iter().find(|r| r.is_everyone());
        everyone.map_or(
            Role { id: community::everyone_role(self.community.id), position: 0, permissions: Permissions::NONE },
            CommunityRole::as_role,
        )
    }

    pub(super) fn roles_of(&self, member: &Member) -> Vec<Role> {
        self.roles.iter().filter(|r| member.roles.contains(&r.id)).map(CommunityRole::as_role).collect()
    }

    /// Resolution's view of `member`; `roles` holds their roles' storage.
    pub(super) fn context<'a>(&self, member: &Member, roles: &'a [Role]) -> MemberContext<'a> {
        MemberContext {
            user: member.user_id,
            roles,
            everyone: self.everyone(),
            is_owner: member.user_id == self.community.owner_id,
            timed_out: member.timed_out_until.is_some_and(|until| until > self.now),
        }
    }

    pub(super) fn permissions(&self) -> Permissions {
        let roles = self.roles_of(&self.member);
        self.context(&self.member, &roles).community_permissions()
    }

    pub(super) fn require(&self, permission: Permissions) -> Result<(), CoreError> {
        require_within(self.permissions(), permission)
    }

    pub(super) fn highest_position(&self) -> u32 {
        let roles = self.roles_of(&self.member);
        self.context(&self.member, &roles).highest_position()
    }

    pub(super) fn is_owner(&self) -> bool {
        self.member.user_id == self.community.owner_id
    }

    pub(super) fn outranks_role(&self, position: u32) -> bool {
        let roles = self.roles_of(&self.member);
        self.context(&self.member, &roles).outranks_role(position)
    }

    pub(super) fn outranks(&self, target: &Member) -> Result<(), CoreError> {
        let mine = self.roles_of(&self.member);
        let theirs = self.roles_of(target);
        if self.context(&self.member, &mine).outranks_member(&self.context(target, &theirs)) {
            Ok(())
        } else {
            Err(CoreError::Forbidden(
                "you can act only on members whose highest role is below yours (never on the owner or yourself)",
            ))
        }
    }
}

/// Ok when `held` contains `permission` (a single one); else the error naming it.
pub(super) fn require_within(held: Permissions, permission: Permissions) -> Result<(), CoreError> {
    if held.contains(permission) {
        return Ok(());
    }
    let name = Permissions::NAMED.iter().find(|(p, _)| *p == permission).map_or("unknown", |(_, n)| n);
    Err(CoreError::MissingPermission(name))
}

pub(super) fn below_yours() -> CoreError {
    CoreError::Forbidden("you can manage only roles below your highest role")
}

impl Communities {
    pub fn new(deps: ChatDeps) -> Self {
        Self { deps }
    }

    pub(super) fn now(&self) -> OffsetDateTime {
        self.deps.clock.now()
    }

    /// Announces a committed change.
    pub(super) async fn announce(&self, event: ChatEvent) {
        self.deps.events.publish(event).await;
    }

    pub(super) fn entry(
        &self,
        action: AuditAction,
        actor: UserId,
        target: Option<UserId>,
        community: CommunityId,
        meta: &RequestMeta,
    ) -> AuditEntry {
        let mut detail = serde_json::Map::new();
        detail.insert("community_id".into(), community.to_string().into());
        AuditEntry {
            id: AuditId::new(self.deps.ids.as_ref()),
            action,
            actor: Some(actor),
            target,
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            request_id: meta.request_id.clone(),
            detail,
            created_at: self.now(),
        }
    }

    /// The caller as a member of `id`; a community they are not in does not exist for them.
    pub(super) async fn actor(&self, principal: &Principal, id: CommunityId, scope: Scope) -> Result<Actor, CoreError> {
        principal.require(scope)?;
        let not_found = || CoreError::NotFound("community");
        let community = self.deps.communities.community(id).await?.ok_or_else(not_found)?;
        let member = self.deps.communities.member(id, principal.user_id).await?.ok_or_else(not_found)?;
        let roles = self.deps.communities.roles(id).await?;
        Ok(Actor { community, roles, member, now: self.now() })
    }

    async fn target(&self, actor: &Actor, user: UserId) -> Result<Member, CoreError> {
        let found = self.deps.communities.member(actor.community.id, user).await?;
        found.ok_or(CoreError::NotFound("member"))
    }

    /// Creates a community owned by the caller, with an `@everyone` role of the default
    /// permissions.
    pub async fn create(
        &self,
        principal: &Principal,
        name: &str,
        description: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<Community, CoreError> {
        principal.require(Scope::ChatWrite)?;
        let mut v = crate::error::Validator::default();
        let name = v.check(community::text("name", name, NAME_MAX));
        let description = v.check(community::optional_text("description", description, DESCRIPTION_MAX));
        let (name, description) = v.finish(|| Some((name?, description?)))?;
        let now = self.now();
        let id = CommunityId::new(self.deps.ids.as_ref());
        let community = Community { id, name, description, owner_id: principal.user_id, created_at: now };
        let everyone = CommunityRole {
            id: community::everyone_role(id),
            community_id: id,
            name: "@everyone".into(),
            permissions: Permissions::DEFAULT_EVERYONE,
            position: 0,
            created_at: now,
        };
        let owner = Member {
            community_id: id,
            user_id: principal.user_id,
            nickname: None,
            roles: Vec::new(),
            joined_at: now,
            timed_out_until: None,
        };
        let entry = self.entry(AuditAction::CommunityCreated, principal.user_id, None, id, meta);
        self.deps.communities.create_community(&community, &everyone, &owner, &entry).await?;
        self.announce(ChatEvent::CommunityCreated(community.clone())).await;
        Ok(community)
    }

    pub async fn get(&self, principal: &Principal, id: CommunityId) -> Result<CommunityView, CoreError> {
        let actor = self.actor(principal, id, Scope::ChatRead).await?;
        let member_count = self.deps.communities.member_count(id).await?;
        Ok(CommunityView { my_permissions: actor.permissions(), member_count, community: actor.community })
    }

    pub async fn mine(&self, principal: &Principal) -> Result<Vec<Community>, CoreError> {
        principal.require(Scope::ChatRead)?;
        Ok(self.deps.communities.communities_of(principal.user_id).await?)
    }

    pub async fn update(
        &self,
        principal: &Principal,
        id: CommunityId,
        name: Option<&str>,
        description: Option<Option<&str>>,
        meta: &RequestMeta,
    ) -> Result<Community, CoreError> {
        let actor = self.actor(principal, id, Scope::ChatWrite).await?;
        actor.require(Permissions::MANAGE_COMMUNITY)?;
        let mut community = actor.community;
        let mut v = crate::error::Validator::default();
        if let Some(name) = name.and_then(|n| v.check(community::text("name", n, NAME_MAX))) {
            community.name = name;
        }
        if let Some(description) = description {
            if let Some(d) = v.check(community::optional_text("description", description, DESCRIPTION_MAX)) {
                community.description = d;
            }
        }
        v.finish(|| Some(()))?;
        let entry = self.entry(AuditAction::CommunityUpdated, principal.user_id, None, id, meta);
        self.deps.communities.update_community(&community, &entry).await?;
        self.announce(ChatEvent::CommunityUpdated(community.clone())).await;
        Ok(community)
    }

    /// Deletes a community: its owner only.
    pub async fn delete(&self, principal: &Principal, id: CommunityId, meta: &RequestMeta) -> Result<(), CoreError> {
        let actor = self.actor(principal, id, Scope::ChatWrite).await?;
        if !actor.is_owner() {
            return Err(CoreError::Forbidden("only the owner can delete a community"));
        }
        let entry = self.entry(AuditAction::CommunityDeleted, principal.user_id, None, id, meta);
        self.deps.communities.delete_community(id, &entry).await?;
        self.remove_files(&attachment::community_prefix(Some(id))).await;
        self.announce(ChatEvent::CommunityDeleted(id)).await;
        Ok(())
    }

    pub async fn members(
        &self,
        principal: &Principal,
        id: CommunityId,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Page<Member>, CoreError> {
        self.actor(principal, id, Scope::ChatRead).await?;
        let limit = limit.clamp(1, 200);
        let rows = self.deps.communities.members(id, after, limit + 1).await?;
        Ok(Page::from_rows(rows, limit, |m| m.user_id.0))
    }

    /// The caller leaves (the owner cannot: they delete the community instead), or removes
    /// another member (a kick: `KICK_MEMBERS`, and a higher role).
    pub async fn remove_member(
        &self,
        principal: &Principal,
        id: CommunityId,
        user: UserId,
        meta: &RequestMeta,
    ) -> Result<(), CoreError> {
        let actor = self.actor(principal, id, Scope::ChatWrite).await?;
        let action = if user == principal.user_id {
            if actor.is_owner() {
                return Err(CoreError::Conflict(FieldError::new(
                    "user_id",
                    "owner_cannot_leave",
                    "the owner cannot leave; delete the community instead",
                )));
            }
            AuditAction::MemberLeft
        } else {
            actor.require(Permissions::KICK_MEMBERS)?;
            actor.outranks(&self.target(&actor, user).await?)?;
            AuditAction::MemberKicked
        };
        let entry = self.entry(action, principal.user_id, Some(user), id, meta);
        if !self.deps.communities.remove_member(id, user, &entry).await? {
            return Err(CoreError::NotFound("member"));
        }
        self.announce(ChatEvent::MemberRemoved { community_id: id, user_id: user }).await;
        Ok(())
    }

    /// Changes a member's nickname (one's own with `CHANGE_NICKNAME`, others' with
    /// `MANAGE_NICKNAMES`), roles (`MANAGE_ROLES`, only roles below one's own highest) or
    /// timeout (`MODERATE_MEMBERS`, at most 28 days). Acting on someone else takes a higher role.
    pub async fn update_member(
        &self,
        principal: &Principal,
        id: CommunityId,
        user: UserId,
        patch: MemberPatch,
        meta: &RequestMeta,
    ) -> Result<Member, CoreError> {
        let actor = self.actor(principal, id, Scope::ChatWrite).await?;
        let mut member = self.target(&actor, user).await?;
        let myself = user == principal.user_id;
        if !myself {
            actor.outranks(&member)?;
        }
        if let Some(nickname) = patch.nickname {
            actor.require(if myself { Permissions::CHANGE_NICKNAME } else { Permissions::MANAGE_NICKNAMES })?;
            member.nickname =
                community::optional_text("nickname", nickname.as_deref(), NICKNAME_MAX).map_err(CoreError::invalid)?;
        }
        if let Some(roles) = patch.roles {
            actor.require(Permissions::MANAGE_ROLES)?;
            let mut wanted: Vec<RoleId> = roles;
            wanted.sort_by_key(|r| r.0);
            wanted.dedup();
            let changed = wanted
                .iter()
                .filter(|r| !member.roles.contains(r))
                .chain(member.roles.iter().filter(|r| !wanted.contains(r)));
            for role in changed {
                let found = actor.roles.iter().find(|r| r.id == *role && !r.is_everyone());
                let Some(found) = found else { return Err(CoreError::NotFound("role")) };
                if !actor.outranks_role(found.position) {
                    return Err(below_yours());
                }
            }
            member.roles = wanted;
        }
        if let Some(until) = patch.timed_out_until {
            actor.require(Permissions::MODERATE_MEMBERS)?;
            if myself {
                return Err(CoreError::Forbidden("you cannot time yourself out"));
            }
            let now = self.now();
            if until.is_some_and(|until| until > now + TIMEOUT_MAX) {
                return Err(CoreError::invalid(FieldError::new(
                    "timed_out_until",
                    "out_of_range",
                    "a timeout ends within 28 days",
                )));
            }
            // A time already past ends the timeout.
            member.timed_out_until = until.filter(|until| *until > now);
        }
        let entry = self.entry(AuditAction::MemberUpdated, principal.user_id, Some(user), id, meta);
        if !self.deps.communities.update_member(&member, &entry).await? {
            return Err(CoreError::NotFound("member"));
        }
        self.announce(ChatEvent::MemberUpdated(member.clone())).await;
        Ok(member)
    }

    pub async fn roles(&self, principal: &Principal, id: CommunityId) -> Result<Vec<CommunityRole>, CoreError> {
        Ok(self.actor(principal, id, Scope::ChatRead).await?.roles)
    }

    /// Creates a role (`MANAGE_ROLES`) below the caller's highest, granting nothing the caller
    /// lacks.
    pub async fn create_role(
        &self,
        principal: &Principal,
        id: CommunityId,
        patch: RolePatch,
        meta: &RequestMeta,
    ) -> Result<CommunityRole, CoreError> {
        let actor = self.actor(principal, id, Scope::ChatWrite).await?;
        actor.require(Permissions::MANAGE_ROLES)?;
        if actor.roles.len() > ROLES_MAX {
            return Err(CoreError::Conflict(FieldError::new(
                "name",
                "too_many",
                format!("a community has at most {ROLES_MAX} roles"),
            )));
        }
        let name = community::text("name", patch.name.as_deref().unwrap_or("new role"), NAME_MAX)
            .map_err(CoreError::invalid)?;
        let role = CommunityRole {
            id: RoleId::new(self.deps.ids.as_ref()),
            community_id: id,
            name,
            permissions: patch.permissions.unwrap_or(Permissions::NONE),
            position: patch.position.unwrap_or(1),
            created_at: self.now(),
        };
        self.check_role(&actor, &role)?;
        let mut entry = self.entry(AuditAction::CommunityRoleChanged, principal.user_id, None, id, meta);
        entry.detail.insert("role_id".into(), role.id.to_string().into());
        entry.detail.insert("change".into(), "created".into());
        self.deps.communities.save_role(&role, &entry).await?;
        self.announce(ChatEvent::RoleSaved(role.clone())).await;
        Ok(role)
    }

    /// Edits a role below the caller's highest (`@everyone`: only its permissions).
    pub async fn update_role(
        &self,
        principal: &Principal,
        id: CommunityId,
        role: RoleId,
        patch: RolePatch,
        meta: &RequestMeta,
    ) -> Result<CommunityRole, CoreError> {
        let actor = self.actor(principal, id, Scope::ChatWrite).await?;
        actor.require(Permissions::MANAGE_ROLES)?;
        let mut found = actor.roles.iter().find(|r| r.id == role).cloned().ok_or(CoreError::NotFound("role"))?;
        if !found.is_everyone() && !actor.outranks_role(found.position) {
            return Err(below_yours());
        }
        if found.is_everyone() && (patch.name.is_some() || patch.position.is_some()) {
            return Err(CoreError::Forbidden("@everyone keeps its name and position; only its permissions change"));
        }
        if let Some(name) = &patch.name {
            found.name = community::text("name", name, NAME_MAX).map_err(CoreError::invalid)?;
        }
        if let Some(permissions) = patch.permissions {
            found.permissions = permissions;
        }
        if let Some(position) = patch.position {
            found.position = position;
        }
        self.check_role(&actor, &found)?;
        let mut entry = self.entry(AuditAction::CommunityRoleChanged, principal.user_id, None, id, meta);
        entry.detail.insert("role_id".into(), found.id.to_string().into());
        entry.detail.insert("change".into(), "updated".into());
        self.deps.communities.save_role(&found, &entry).await?;
        self.announce(ChatEvent::RoleSaved(found.clone())).await;
        Ok(found)
    }

    /// A role the caller may hold in place: positioned below their highest (at least 1 unless
    /// `@everyone`) and granting only what they have.
    fn check_role(&self, actor: &Actor, role: &CommunityRole) -> Result<(), CoreError> {
        let placeable = (1..=POSITION_MAX).contains(&role.position) && actor.outranks_role(role.position);
        if !role.is_everyone() && !placeable {
            return Err(CoreError::invalid(FieldError::new(
                "position",
                "out_of_range",
                format!(
                    "a role's position must be from 1 to {POSITION_MAX} and below your highest role's ({})",
                    actor.highest_position()
                ),
            )));
        }
        let granted = Permissions(role.permissions.0 & !actor.permissions().0);
        if granted != Permissions::NONE && !actor.is_owner() {
            return Err(CoreError::invalid(FieldError::new(
                "permissions",
                "not_yours",
                format!("you cannot grant permissions you do not have: {}", granted.names().join(", ")),
            )));
        }
        Ok(())
    }

    pub async fn delete_role(
        &self,
        principal: &Principal,
        id: CommunityId,
        role: RoleId,
        meta: &RequestMeta,
    ) -> Result<(), CoreError> {
        let actor = self.actor(principal, id, Scope::ChatWrite).await?;
        actor.require(Permissions::MANAGE_ROLES)?;
        let found = actor.roles.iter().find(|r| r.id == role).ok_or(CoreError::NotFound("role"))?;
        if found.is_everyone() {
            return Err(CoreError::Forbidden("@everyone cannot be deleted"));
        }
        if !actor.outranks_role(found.position) {
            return Err(below_yours());
        }
        let mut entry = self.entry(AuditAction::CommunityRoleChanged, principal.user_id, None, id, meta);
        entry.detail.insert("role_id".into(), role.to_string().into());
        entry.detail.insert("change".into(), "deleted".into());
        if !self.deps.communities.delete_role(id, role, &entry).await? {
            return Err(CoreError::NotFound("role"));
        }
        self.announce(ChatEvent::RoleDeleted { community_id: id, role_id: role }).await;
        Ok(())
    }

    /// Creates an invite (`CREATE_INVITES`): valid `max_age` (default 7 days, at most 30; `Some(0)`
    /// never expires) and `max_uses` times (default unlimited).
    pub async fn create_invite(
        &self,
        principal: &Principal,
        id: CommunityId,
        max_age_secs: Option<u32>,
        max_uses: Option<u32>,
        meta: &RequestMeta,
    ) -> Result<Invite, CoreError> {
        let actor = self.actor(principal, id, Scope::ChatWrite).await?;
        actor.require(Permissions::CREATE_INVITES)?;
        let now = self.now();
        let expires_at = match max_age_secs {
            Some(0) => None,
            Some(secs) if Duration::seconds(i64::from(secs)) > INVITE_AGE_MAX => {
                return Err(CoreError::invalid(FieldError::new(
                    "max_age_secs",
                    "out_of_range",
                    "an invite lives at most 30 days (0: never expires)",
                )))
            }
            Some(secs) => Some(now + Duration::seconds(i64::from(secs))),
            None => Some(now + Duration::days(7)),
        };
        if max_uses.is_some_and(|n| n == 0 || n > INVITE_USES_MAX) {
            return Err(CoreError::invalid(FieldError::new(
                "max_uses",
                "out_of_range",
                format!("max_uses must be between 1 and {INVITE_USES_MAX}"),
            )));
        }
        let invite = Invite {
            code: community::invite_code(),
            community_id: id,
            created_by: principal.user_id,
            created_at: now,
            expires_at,
            max_uses,
            uses: 0,
        };
        let mut entry = self.entry(AuditAction::InviteCreated, principal.user_id, None, id, meta);
        entry.detail.insert("code".into(), invite.code.clone().into());
        self.deps.communities.save_invite(&invite, &entry).await?;
        Ok(invite)
    }

    pub async fn invites(&self, principal: &Principal, id: CommunityId) -> Result<Vec<Invite>, CoreError> {
        let actor = self.actor(principal, id, Scope::ChatRead).await?;
        actor.require(Permissions::MANAGE_COMMUNITY)?;
        Ok(self.deps.communities.invites(id).await?)
    }

    /// Deletes an invite: its creator, or someone with `MANAGE_COMMUNITY`.
    pub async fn delete_invite(&self, principal: &Principal, code: &str, meta: &RequestMeta) -> Result<(), CoreError> {
        let invite = self.live_invite_record(code).await?;
        let actor = self.actor(principal, invite.community_id, Scope::ChatWrite).await?;
        if invite.created_by != principal.user_id {
            actor.require(Permissions::MANAGE_COMMUNITY)?;
        }
        let mut entry = self.entry(AuditAction::InviteDeleted, principal.user_id, None, invite.community_id, meta);
        entry.detail.insert("code".into(), invite.code.clone().into());
        self.deps.communities.delete_invite(&invite.code, &entry).await?;
        Ok(())
    }

    async fn live_invite_record(&self, code: &str) -> Result<Invite, CoreError> {
        let found = match community::looks_like_invite_code(code) {
            true => self.deps.communities.invite(code).await?,
            false => None,
        };
        found.ok_or(CoreError::NotFound("invite"))
    }

    /// What an invite leads to, for anyone signed in: the community's name and size. Expired
    /// and used-up invites are not found.
    pub async fn preview_invite(
        &self,
        principal: &Principal,
        code: &str,
    ) -> Result<(Invite, Community, u64), CoreError> {
        principal.require(Scope::ChatRead)?;
        let invite = self.live_invite_record(code).await?;
        if !invite.usable(self.now()) {
            return Err(CoreError::NotFound("invite"));
        }
        let community =
            self.deps.communities.community(invite.community_id).await?.ok_or(CoreError::NotFound("invite"))?;
        let count = self.deps.communities.member_count(community.id).await?;
        Ok((invite, community, count))
    }

    /// Joins through an invite; true when the caller was not a member before.
    pub async fn join(
        &self,
        principal: &Principal,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<(Member, bool), CoreError> {
        principal.require(Scope::ChatWrite)?;
        let invite = self.live_invite_record(code).await?;
        let now = self.now();
        let member = Member {
            community_id: invite.community_id,
            user_id: principal.user_id,
            nickname: None,
            roles: Vec::new(),
            joined_at: now,
            timed_out_until: None,
        };
        let mut entry = self.entry(AuditAction::MemberJoined, principal.user_id, None, invite.community_id, meta);
        entry.detail.insert("code".into(), invite.code.clone().into());
        match self.deps.communities.join(&invite.code, &member, now, &entry).await? {
            Joined::Joined(member) => {
                self.announce(ChatEvent::MemberJoined(member.clone())).await;
                Ok((member, true))
            }
            Joined::AlreadyMember(member) => Ok((member, false)),
            Joined::InviteInvalid => Err(CoreError::NotFound("invite")),
            Joined::Banned => Err(CoreError::Forbidden("you are banned from this community")),
        }
    }

    /// Bans a user (`BAN_MEMBERS`; a member must rank below the caller) and removes them,
    /// deleting what they posted in the community in the last `delete_message_hours` (at most a
    /// week).
    pub async fn ban(
        &self,
        principal: &Principal,
        id: CommunityId,
        user: UserId,
        reason: Option<&str>,
        delete_message_hours: Option<u32>,
        meta: &RequestMeta,
    ) -> Result<Ban, CoreError> {
        let actor = self.actor(principal, id, Scope::ChatWrite).await?;
        actor.require(Permissions::BAN_MEMBERS)?;
        if user == principal.user_id || user == actor.community.owner_id {
            return Err(CoreError::Forbidden("neither yourself nor the owner can be banned"));
        }
        let was_member = self.deps.communities.member(id, user).await?;
        if let Some(member) = &was_member {
            actor.outranks(member)?;
        } else if self.deps.users.by_id(user).await?.is_none() {
            return Err(CoreError::NotFound("user"));
        }
        let reason = community::optional_text("reason", reason, REASON_MAX).map_err(CoreError::invalid)?;
        let hours = delete_message_hours.unwrap_or(0);
        if hours > DELETE_MESSAGES_MAX_HOURS {
            return Err(CoreError::invalid(FieldError::new(
                "delete_message_hours",
                "out_of_range",
                format!("at most {DELETE_MESSAGES_MAX_HOURS} hours (a week) of messages can be deleted"),
            )));
        }
        let now = self.now();
        let since = now - Duration::hours(i64::from(hours));
        let ban = Ban { community_id: id, user_id: user, reason, banned_by: principal.user_id, created_at: now };
        let mut entry = self.entry(AuditAction::MemberBanned, principal.user_id, Some(user), id, meta);
        entry.detail.insert("delete_message_hours".into(), hours.into());
        // The store decides, in the ban's own transaction (which takes turns with joins),
        // whether a member was removed: a join racing the ban is either undone and announced
        // here, or refused.
        let removed = self.deps.communities.ban(&ban, &entry).await?;
        if removed {
            self.announce(ChatEvent::MemberRemoved { community_id: id, user_id: user }).await;
        }
        // Only a committed ban purges: a ban that failed deletes nothing.
        if hours > 0 {
            let purged = self.deps.messages.delete_recent(id, user, since, now).await?;
            if purged.messages > 0 {
                tracing::info!(community = %id, user = %user, messages = purged.messages, "a ban deleted recent messages");
                self.announce(ChatEvent::MessagesPurged { community_id: id, user_id: user, since }).await;
            }
            // Each key ends with the file's id under its message's prefix; removal goes by
            // prefix (an object store lists what is under a path, not the object at it).
            let mut prefixes: Vec<&str> =
                purged.attachment_keys.iter().filter_map(|k| k.rsplit_once('/').map(|(p, _)| p)).collect();
            prefixes.dedup();
            for prefix in prefixes {
                self.remove_files(&format!("{prefix}/")).await;
            }
        }
        Ok(ban)
    }

    pub async fn unban(
        &self,
        principal: &Principal,
        id: CommunityId,
        user: UserId,
        meta: &RequestMeta,
    ) -> Result<(), CoreError> {
        let actor = self.actor(principal, id, Scope::ChatWrite).await?;
        actor.require(Permissions::BAN_MEMBERS)?;
        let entry = self.entry(AuditAction::MemberUnbanned, principal.user_id, Some(user), id, meta);
        if !self.deps.communities.unban(id, user, &entry).await? {
            return Err(CoreError::NotFound("ban"));
        }
        Ok(())
    }

    pub async fn bans(&self, principal: &Principal, id: CommunityId) -> Result<Vec<Ban>, CoreError> {
        let actor = self.actor(principal, id, Scope::ChatRead).await?;
        actor.require(Permissions::BAN_MEMBERS)?;
        Ok(self.deps.communities.bans(id).await?)
    }
}
