//! Communities, roles, members, invites and bans. Joining is one transaction whose invite use is
//! a conditional UPDATE, so concurrent joins never exceed an invite's `max_uses`.

use async_trait::async_trait;
use sqlx::AnyConnection;
use time::OffsetDateTime;
use veza_core::audit::AuditEntry;
use veza_core::chat::community::{Ban, Community, CommunityRole, Invite, Joined, Member};
use veza_core::chat::permissions::Permissions;
use veza_core::id::{CommunityId, RoleId, UserId};
use veza_core::ports::{CommunityRepo, StoreError, StoreResult};

use crate::audit::{commit_if_changed, commit_with_audit, insert_audit};
use crate::error::store_error;
use crate::rows::{from_micros, to_micros};
use crate::Database;

const COMMUNITY: &str = "id, name, description, owner_id, created_at";
const ROLE: &str = "id, community_id, name, permissions, position, created_at";
const MEMBER: &str = "community_id, user_id, nickname, joined_at, timed_out_until";
const INVITE: &str = "code, community_id, created_by, created_at, expires_at, max_uses, uses";
const BAN: &str = "community_id, user_id, reason, banned_by, created_at";

#[derive(sqlx::FromRow)]
struct CommunityRow {
    id: i64,
    name: String,
    description: Option<String>,
    owner_id: i64,
    created_at: i64,
}

impl TryFrom<CommunityRow> for Community {
    type Error = StoreError;
    fn try_from(r: CommunityRow) -> StoreResult<Self> {
        Ok(Community {
            id: CommunityId(r.id),
            name: r.name,
            description: r.description,
            owner_id: UserId(r.owner_id),
            created_at: from_micros(r.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct RoleRow {
    id: i64,
    community_id: i64,
    name: String,
    permissions: i64,
    position: i64,
    created_at: i64,
}

impl TryFrom<RoleRow> for CommunityRole {
    type Error = StoreError;
    fn try_from(r: RoleRow) -> StoreResult<Self> {
        Ok(CommunityRole {
            id: RoleId(r.id),
            community_id: CommunityId(r.community_id),
            name: r.name,
            permissions: Permissions::from_bits_truncate(r.permissions as u64),
            position: u32::try_from(r.position)
                .map_err(|_| StoreError::Other(format!("bad role position {}", r.position)))?,
            created_at: from_micros(r.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    community_id: i64,
    user_id: i64,
    nickname: Option<String>,
    joined_at: i64,
    timed_out_until: Option<i64>,
}

impl MemberRow {
    fn into_member(self, roles: Vec<RoleId>) -> StoreResult<Member> {
        Ok(Member {
            community_id: CommunityId(self.community_id),
            user_id: UserId(self.user_id),
            nickname: self.nickname,
            roles,
            joined_at: from_micros(self.joined_at)?,
            timed_out_until: self.timed_out_until.map(from_micros).transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct InviteRow {
    code: String,
    community_id: i64,
    created_by: i64,
    created_at: i64,
    expires_at: Option<i64>,
    max_uses: Option<i64>,
    uses: i64,
}

impl TryFrom<InviteRow> for Invite {
    type Error = StoreError;
    fn try_from(r: InviteRow) -> StoreResult<Self> {
        let count = |n: i64| u32::try_from(n).map_err(|_| StoreError::Other(format!("bad invite count {n}")));
        Ok(Invite {
            code: r.code,
            community_id: CommunityId(r.community_id),
            created_by: UserId(r.created_by),
            created_at: from_micros(r.created_at)?,
            expires_at: r.expires_at.map(from_micros).transpose()?,
            max_uses: r.max_uses.map(count).transpose()?,
            uses: count(r.uses)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct BanRow {
    community_id: i64,
    user_id: i64,
    reason: Option<String>,
    banned_by: i64,
    created_at: i64,
}

impl TryFrom<BanRow> for Ban {
    type Error = StoreError;
    fn try_from(r: BanRow) -> StoreResult<Self> {
        Ok(Ban {
            community_id: CommunityId(r.community_id),
            user_id: UserId(r.user_id),
            reason: r.reason,
            banned_by: UserId(r.banned_by),
            created_at: from_micros(r.created_at)?,
        })
    }
}

async fn insert_member(conn: &mut AnyConnection, m: &Member) -> StoreResult<()> {
    sqlx::query(&format!("INSERT INTO community_members ({MEMBER}) VALUES ($1, $2, $3, $4, $5)"))
        .bind(m.community_id.0)
        .bind(m.user_id.0)
        .bind(m.nickname.as_deref())
        .bind(to_micros(m.joined_at))
        .bind(m.timed_out_until.map(to_micros))
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    write_member_roles(conn, m).await
}

async fn write_member_roles(conn: &mut AnyConnection, m: &Member) -> StoreResult<()> {
    sqlx::query("DELETE FROM member_roles WHERE community_id = $1 AND user_id = $2")
        .bind(m.community_id.0)
        .bind(m.user_id.0)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    for role in &m.roles {
        sqlx::query("INSERT INTO member_roles (community_id, user_id, role_id) VALUES ($1, $2, $3)")
            .bind(m.community_id.0)
            .bind(m.user_id.0)
            .bind(role.0)
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
    }
    Ok(())
}

impl Database {
    async fn member_in(
        &self,
        conn: &mut AnyConnection,
        community: CommunityId,
        user: UserId,
    ) -> StoreResult<Option<Member>> {
        let row: Option<MemberRow> =
            sqlx::query_as(&format!("SELECT {MEMBER} FROM community_members WHERE community_id = $1 AND user_id = $2"))
                .bind(community.0)
                .bind(user.0)
                .fetch_optional(&mut *conn)
                .await
                .map_err(store_error)?;
        let Some(row) = row else { return Ok(None) };
        let roles: Vec<(i64,)> = sqlx::query_as(
            "SELECT role_id FROM member_roles WHERE community_id = $1 AND user_id = $2 ORDER BY role_id",
        )
        .bind(community.0)
        .bind(user.0)
        .fetch_all(&mut *conn)
        .await
        .map_err(store_error)?;
        row.into_member(roles.into_iter().map(|(r,)| RoleId(r)).collect()).map(Some)
    }
}

#[async_trait]
impl CommunityRepo for Database {
    async fn create_community(
        &self,
        community: &Community,
        everyone: &CommunityRole,
        owner: &Member,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await.map_err(store_error)?;
        sqlx::query(&format!("INSERT INTO communities ({COMMUNITY}) VALUES ($1, $2, $3, $4, $5)"))
            .bind(community.id.0)
            .bind(&community.name)
            .bind(community.description.as_deref())
            .bind(community.owner_id.0)
            .bind(to_micros(community.created_at))
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        upsert_role(&mut tx, everyone).await?;
        insert_member(&mut tx, owner).await?;
        commit_with_audit(tx, std::slice::from_ref(audit)).await
    }

    async fn community(&self, id: CommunityId) -> StoreResult<Option<Community>> {
        let row: Option<CommunityRow> = sqlx::query_as(&format!("SELECT {COMMUNITY} FROM communities WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.map(Community::try_from).transpose()
    }

    async fn update_community(&self, community: &Community, audit: &AuditEntry) -> StoreResult<()> {
        let mut tx = self.begin().await.map_err(store_error)?;
        sqlx::query("UPDATE communities SET name = $1, description = $2 WHERE id = $3")
            .bind(&community.name)
            .bind(community.description.as_deref())
            .bind(community.id.0)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        commit_with_audit(tx, std::slice::from_ref(audit)).await
    }

    async fn delete_community(&self, id: CommunityId, audit: &AuditEntry) -> StoreResult<()> {
        let mut tx = self.begin().await.map_err(store_error)?;
        sqlx::query("DELETE FROM communities WHERE id = $1").bind(id.0).execute(&mut *tx).await.map_err(store_error)?;
        commit_with_audit(tx, std::slice::from_ref(audit)).await
    }

    async fn communities_of(&self, user: UserId) -> StoreResult<Vec<Community>> {
        let columns = COMMUNITY.split(", ").map(|c| format!("c.{c}")).collect::<Vec<_>>().join(", ");
        let rows: Vec<CommunityRow> = sqlx::query_as(&format!(
            "SELECT {columns} FROM communities c JOIN community_members m ON m.community_id = c.id \
             WHERE m.user_id = $1 ORDER BY m.joined_at, c.id"
        ))
        .bind(user.0)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.into_iter().map(Community::try_from).collect()
    }

    async fn member_count(&self, id: CommunityId) -> StoreResult<u64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM community_members WHERE community_id = $1")
            .bind(id.0)
            .fetch_one(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn roles(&self, id: CommunityId) -> StoreResult<Vec<CommunityRole>> {
        let rows: Vec<RoleRow> = sqlx::query_as(&format!(
            "SELECT {ROLE} FROM community_roles WHERE community_id = $1 \
             ORDER BY CASE WHEN id = community_id THEN 0 ELSE 1 END, position, id"
        ))
        .bind(id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.into_iter().map(CommunityRole::try_from).collect()
    }

    async fn save_role(&self, role: &CommunityRole, audit: &AuditEntry) -> StoreResult<()> {
        let mut tx = self.begin().await.map_err(store_error)?;
        upsert_role(&mut tx, role).await?;
        commit_with_audit(tx, std::slice::from_ref(audit)).await
    }

    async fn delete_role(&self, community: CommunityId, role: RoleId, audit: &AuditEntry) -> StoreResult<bool> {
        let mut tx = self.begin().await.map_err(store_error)?;
        let deleted =
            sqlx::query("DELETE FROM community_roles WHERE id = $1 AND community_id = $2 AND id <> community_id")
                .bind(role.0)
                .bind(community.0)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?
                .rows_affected()
                > 0;
        // Members lose the role through member_roles' foreign key; overwrites name their
        // target without one, so they go here.
        if deleted {
            sqlx::query("DELETE FROM channel_overwrites WHERE target_kind = 'role' AND target_id = $1")
                .bind(role.0)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
        }
        commit_if_changed(tx, deleted, audit).await
    }

    async fn member(&self, community: CommunityId, user: UserId) -> StoreResult<Option<Member>> {
        let mut conn = self.pool.acquire().await.map_err(store_error)?;
        self.member_in(&mut conn, community, user).await
    }

    async fn members(&self, community: CommunityId, after: Option<UserId>, limit: u32) -> StoreResult<Vec<Member>> {
        let after = after.map_or(i64::MIN, |u| u.0);
        let rows: Vec<MemberRow> = sqlx::query_as(&format!(
            "SELECT {MEMBER} FROM community_members WHERE community_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3"
        ))
        .bind(community.0)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        let Some(last) = rows.last().map(|r| r.user_id) else { return Ok(Vec::new()) };
        let held: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT user_id, role_id FROM member_roles WHERE community_id = $1 AND user_id > $2 AND user_id <= $3 \
             ORDER BY user_id, role_id",
        )
        .bind(community.0)
        .bind(after)
        .bind(last)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.into_iter()
            .map(|row| {
                let roles = held.iter().filter(|(u, _)| *u == row.user_id).map(|(_, r)| RoleId(*r)).collect();
                row.into_member(roles)
            })
            .collect()
    }

    async fn update_member(&self, member: &Member, audit: &AuditEntry) -> StoreResult<bool> {
        let mut tx = self.begin().await.map_err(store_error)?;
        let updated = sqlx::query(
            "UPDATE community_members SET nickname = $1, timed_out_until = $2 WHERE community_id = $3 AND user_id = $4",
        )
        .bind(member.nickname.as_deref())
        .bind(member.timed_out_until.map(to_micros))
        .bind(member.community_id.0)
        .bind(member.user_id.0)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?
        .rows_affected()
            > 0;
        if updated {
            write_member_roles(&mut tx, member).await?;
        }
        commit_if_changed(tx, updated, audit).await
    }

    async fn remove_member(&self, community: CommunityId, user: UserId, audit: &AuditEntry) -> StoreResult<bool> {
        let mut tx = self.begin().await.map_err(store_error)?;
        let removed = remove(&mut tx, community, user).await?;
        commit_if_changed(tx, removed, audit).await
    }

    async fn save_invite(&self, invite: &Invite, audit: &AuditEntry) -> StoreResult<()> {
        let mut tx = self.begin().await.map_err(store_error)?;
        sqlx::query(&format!("INSERT INTO community_invites ({INVITE}) VALUES ($1, $2, $3, $4, $5, $6, $7)"))
            .bind(&invite.code)
            .bind(invite.community_id.0)
            .bind(invite.created_by.0)
            .bind(to_micros(invite.created_at))
            .bind(invite.expires_at.map(to_micros))
            .bind(invite.max_uses.map(i64::from))
            .bind(i64::from(invite.uses))
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        commit_with_audit(tx, std::slice::from_ref(audit)).await
    }

    async fn invite(&self, code: &str) -> StoreResult<Option<Invite>> {
        let row: Option<InviteRow> = sqlx::query_as(&format!("SELECT {INVITE} FROM community_invites WHERE code = $1"))
            .bind(code)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.map(Invite::try_from).transpose()
    }

    async fn invites(&self, community: CommunityId) -> StoreResult<Vec<Invite>> {
        let rows: Vec<InviteRow> = sqlx::query_as(&format!(
            "SELECT {INVITE} FROM community_invites WHERE community_id = $1 ORDER BY created_at, code"
        ))
        .bind(community.0)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.into_iter().map(Invite::try_from).collect()
    }

    async fn delete_invite(&self, code: &str, audit: &AuditEntry) -> StoreResult<bool> {
        let mut tx = self.begin().await.map_err(store_error)?;
        let deleted = sqlx::query("DELETE FROM community_invites WHERE code = $1")
            .bind(code)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        commit_if_changed(tx, deleted.rows_affected() > 0, audit).await
    }

    async fn join(&self, code: &str, member: &Member, now: OffsetDateTime, audit: &AuditEntry) -> StoreResult<Joined> {
        let mut tx = self.begin().await.map_err(store_error)?;
        // Writing first takes the invite's row lock on PostgreSQL, so joins through one invite
        // take turns (on SQLite the transaction holds the write lock from its start).
        sqlx::query("UPDATE community_invites SET uses = uses WHERE code = $1")
            .bind(code)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        let found: Option<(i64,)> = sqlx::query_as("SELECT community_id FROM community_invites WHERE code = $1")
            .bind(code)
            .fetch_optional(&mut *tx)
            .await
            .map_err(store_error)?;
        let Some((community,)) = found else { return Ok(Joined::InviteInvalid) };
        let community = CommunityId(community);
        lock_community(&mut tx, community).await?;
        let banned: Option<(i64,)> =
            sqlx::query_as("SELECT user_id FROM community_bans WHERE community_id = $1 AND user_id = $2")
                .bind(community.0)
                .bind(member.user_id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(store_error)?;
        if banned.is_some() {
            return Ok(Joined::Banned);
        }
        if let Some(existing) = self.member_in(&mut tx, community, member.user_id).await? {
            return Ok(Joined::AlreadyMember(existing));
        }
        let used = sqlx::query(
            "UPDATE community_invites SET uses = uses + 1 WHERE code = $1 \
             AND (expires_at IS NULL OR expires_at > $2) AND (max_uses IS NULL OR uses < max_uses)",
        )
        .bind(code)
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        if used.rows_affected() == 0 {
            return Ok(Joined::InviteInvalid);
        }
        let joined = Member { community_id: community, ..member.clone() };
        match insert_member(&mut tx, &joined).await {
            Ok(()) => {}
            // A concurrent join by the same person won: theirs is the membership.
            Err(StoreError::Conflict(_)) => {
                drop(tx);
                let existing = self.member(community, member.user_id).await?;
                return Ok(existing.map_or(Joined::InviteInvalid, Joined::AlreadyMember));
            }
            Err(e) => return Err(e),
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(Joined::Joined(joined))
    }

    async fn ban(&self, ban: &Ban, audit: &AuditEntry) -> StoreResult<bool> {
        let mut tx = self.begin().await.map_err(store_error)?;
        lock_community(&mut tx, ban.community_id).await?;
        sqlx::query("DELETE FROM community_bans WHERE community_id = $1 AND user_id = $2")
            .bind(ban.community_id.0)
            .bind(ban.user_id.0)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        sqlx::query(&format!("INSERT INTO community_bans ({BAN}) VALUES ($1, $2, $3, $4, $5)"))
            .bind(ban.community_id.0)
            .bind(ban.user_id.0)
            .bind(ban.reason.as_deref())
            .bind(ban.banned_by.0)
            .bind(to_micros(ban.created_at))
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        let removed = remove(&mut tx, ban.community_id, ban.user_id).await?;
        commit_with_audit(tx, std::slice::from_ref(audit)).await?;
        Ok(removed)
    }

    async fn unban(&self, community: CommunityId, user: UserId, audit: &AuditEntry) -> StoreResult<bool> {
        let mut tx = self.begin().await.map_err(store_error)?;
        let deleted = sqlx::query("DELETE FROM community_bans WHERE community_id = $1 AND user_id = $2")
            .bind(community.0)
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        commit_if_changed(tx, deleted.rows_affected() > 0, audit).await
    }

    async fn bans(&self, community: CommunityId) -> StoreResult<Vec<Ban>> {
        let rows: Vec<BanRow> =
            sqlx::query_as(&format!("SELECT {BAN} FROM community_bans WHERE community_id = $1 ORDER BY user_id"))
                .bind(community.0)
                .fetch_all(&self.pool)
                .await
                .map_err(store_error)?;
        rows.into_iter().map(Ban::try_from).collect()
    }
}

async fn upsert_role(conn: &mut AnyConnection, role: &CommunityRole) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO community_roles ({ROLE}) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, permissions = excluded.permissions, \
         position = excluded.position"
    ))
    .bind(role.id.0)
    .bind(role.community_id.0)
    .bind(&role.name)
    .bind(role.permissions.0 as i64)
    .bind(i64::from(role.position))
    .bind(to_micros(role.created_at))
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

/// Makes a join and a ban of one community take turns: both write the community's row first
/// (its row lock on PostgreSQL, whose READ COMMITTED would otherwise let a join read "not
/// banned" while a ban commits; on SQLite the write lock is the whole database's already).
async fn lock_community(conn: &mut AnyConnection, community: CommunityId) -> StoreResult<()> {
    sqlx::query("UPDATE communities SET id = id WHERE id = $1")
        .bind(community.0)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Removes a membership (its roles go through member_roles' foreign key); whether there was one.
async fn remove(conn: &mut AnyConnection, community: CommunityId, user: UserId) -> StoreResult<bool> {
    let removed = sqlx::query("DELETE FROM community_members WHERE community_id = $1 AND user_id = $2")
        .bind(community.0)
        .bind(user.0)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    Ok(removed.rows_affected() > 0)
}
