//! The ports: what the use cases need from the outside world, as traits. Adapters implement them
//! (`veza-sql` the repositories, `veza-crypto` hashing and signing); [`crate::fakes`] implements
//! them in memory for tests.
//!
//! Every state-changing repository call takes the audit entries it causes and commits them in the
//! same transaction: an action is never recorded without happening, nor happens unrecorded.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::account_token::{AccountToken, CooldownKey, CredentialChange, NewAccountToken, TokenPurpose};
use crate::api_key::{ApiKey, NewApiKey};
use crate::audit::{AuditEntry, AuditQuery};
use crate::catalog::job::{Claim, Finished, Job, NewJob, Outcome};
use crate::catalog::track::{Track, TrackPatch};
use crate::chat::attachment::Attachment;
use crate::chat::channel::{Channel, DirectChannel, ThreadMember};
use crate::chat::community::{Ban, Community, CommunityRole, Invite, Joined, Member};
use crate::chat::message::{HistoryCursor, Message, MessageEdit, Pin, Posted, ReactionCount, ReadState};
use crate::chat::permissions::{Overwrite, OverwriteTarget};
use crate::chat::presence::PresenceSetting;
use crate::error::{CoreError, FieldError, TokenProblem};
use crate::id::{
    ApiKeyId, AttachmentId, ChannelId, CommentId, CommunityId, IdentityId, MessageId, PasskeyId, PlaylistId,
    PlaylistItemId, RoleId, SessionId, TrackId, UserId,
};
use crate::identity::{
    AuthorizationRequest, CodeGrant, Identity, OAuthFlow, Provider, ProviderProblem, ProviderProfile,
};
use crate::mail::OutgoingMail;
use crate::page::PageRequest;
use crate::passkey::{Ceremony, CeremonyStart, NewCredential, Passkey};
use crate::session::{NewSession, RevokeReason, Rotation, Session, TokenLookup};
use crate::social::comments::{Comment, CommentCursor, CommentPosted};
use crate::social::playlist::{Added, Playlist, PlaylistItem, PlaylistPatch};
use crate::social::reactions::Target;
use crate::social::{Edge, FollowCounts, Linked};
use crate::user::{AccountChange, NewUser, ProfilePatch, Role, User, UserQuery, Username};

/// Failures of a store, as the use cases need to tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique field is taken; the payload names it (`username`, `email`, `identity`).
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The change would leave no enabled administrator; nothing was changed.
    #[error("the last enabled administrator cannot be demoted or disabled")]
    LastAdmin,
    /// The store cannot be reached or timed out: retrying later may work.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or corrupt data.
    #[error("store error: {0}")]
    Other(String),
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(field) => {
                CoreError::Conflict(FieldError::new(field, "taken", format!("this {field} is already taken")))
            }
            StoreError::LastAdmin => CoreError::Conflict(FieldError::new("role", "last_admin", e_last_admin())),
            StoreError::Unavailable(m) => CoreError::Unavailable(m),
            StoreError::Other(m) => CoreError::Internal(m),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

pub(crate) fn e_last_admin() -> &'static str {
    "the last enabled administrator can be neither demoted nor disabled; promote another first"
}

#[async_trait]
pub trait UserRepo: Send + Sync + std::fmt::Debug {
    /// Stores a new account, optionally with its first session, and the audit entries, atomically.
    async fn create(&self, user: &NewUser, session: Option<&NewSession>, audit: &[AuditEntry]) -> StoreResult<()>;
    async fn by_id(&self, id: UserId) -> StoreResult<Option<User>>;
    /// Like [`UserRepo::by_id`], but never from a cache: for decisions that must see the latest
    /// write of any node (administrative changes).
    async fn by_id_fresh(&self, id: UserId) -> StoreResult<Option<User>> {
        self.by_id(id).await
    }
    async fn by_username(&self, username: &Username) -> StoreResult<Option<User>>;
    /// Finds an account and its password hash (`None`: it has no password) by lowercase
    /// username or normalized email.
    async fn credentials(&self, login: &str) -> StoreResult<Option<(User, Option<String>)>>;
    /// Writes the fields the (normalized) patch contains and leaves the others as they are in the
    /// store, so concurrent edits of different fields both survive. `None` when the user does
    /// not exist.
    async fn update_profile(
        &self,
        id: UserId,
        patch: &ProfilePatch,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> StoreResult<Option<User>>;
    /// Applies an administrator's change — role, disabled state, or both — with its audit
    /// entries, in one transaction. Disabling also revokes every live session and API key of the
    /// account. Refuses with [`StoreError::LastAdmin`], changing nothing, when no enabled
    /// administrator would remain — decided inside the transaction, so that two concurrent
    /// demotions cannot both pass.
    /// `None` when the user does not exist.
    async fn change_account(
        &self,
        id: UserId,
        change: &AccountChange,
        now: OffsetDateTime,
        audit: &[AuditEntry],
    ) -> StoreResult<Option<User>>;
    /// Up to `query.page.limit + 1` accounts, newest first.
    async fn list_users(&self, query: &UserQuery) -> StoreResult<Vec<User>>;
    /// Changes how the account signs in (address, password) and ends the sessions the change
    /// names, with its audit entries, in one transaction. [`StoreError::Conflict`] when the new
    /// address belongs to another account. False when the user does not exist.
    async fn change_credentials(
        &self,
        id: UserId,
        change: &CredentialChange,
        now: OffsetDateTime,
        audit: &[AuditEntry],
    ) -> StoreResult<bool>;
    /// Consumes the token — only if it is `user`'s, has this purpose, is unconsumed and unexpired at `now` —
    /// and applies `change` to its owner, with the audit entries, in one transaction. A change
    /// that sets the address voids the owner's other address tokens; one that sets the password
    /// voids their other reset tokens. False, changing nothing, when the token was not live
    /// (a concurrent redemption won).
    async fn redeem_token(
        &self,
        user: UserId,
        hash: &str,
        purpose: TokenPurpose,
        change: &CredentialChange,
        now: OffsetDateTime,
        audit: &[AuditEntry],
    ) -> StoreResult<bool>;
}

/// External identities linked to accounts (see [`crate::identity`]).
#[async_trait]
pub trait IdentityRepo: Send + Sync + std::fmt::Debug {
    /// Links an identity, with its audit entry. [`StoreError::Conflict`] (`identity`) when the
    /// provider's subject is linked already, to any account.
    async fn link(&self, identity: &Identity, audit: &AuditEntry) -> StoreResult<()>;
    /// Creates an account (which signs in with `identity` only) and links the identity, with
    /// the audit entries, in one transaction. [`StoreError::Conflict`] names what is taken
    /// (`username`, `email`, `identity`); nothing is created then.
    async fn create_with_identity(&self, user: &NewUser, identity: &Identity, audit: &[AuditEntry]) -> StoreResult<()>;
    /// The identity a provider's subject is linked as, if any.
    async fn find_identity(&self, provider: Provider, subject: &str) -> StoreResult<Option<Identity>>;
    /// A user's identities, oldest first.
    async fn identities_of(&self, user: UserId) -> StoreResult<Vec<Identity>>;
    /// Unlinks one of `user`'s identities, with its audit entry, unless it is the account's
    /// last way to sign in (no password and no other identity). The check and the removal are
    /// one transaction that holds the account, so two concurrent unlinks cannot both pass it.
    async fn unlink(&self, id: IdentityId, user: UserId, audit: &AuditEntry) -> StoreResult<Unlinked>;
    /// Records a sign-in with the identity.
    async fn identity_used(&self, id: IdentityId, now: OffsetDateTime) -> StoreResult<()>;
}

/// What [`IdentityRepo::unlink`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlinked {
    Done,
    /// The user has no such identity.
    NotFound,
    /// It is the account's last way to sign in; nothing was changed.
    LastSignInMethod,
}

/// Started social sign-ins, kept until their callback (see [`crate::identity::OAuthFlow`]).
#[async_trait]
pub trait OAuthFlowRepo: Send + Sync + std::fmt::Debug {
    async fn save_flow(&self, flow: &OAuthFlow) -> StoreResult<()>;
    /// Removes and returns the flow with this state, but only for the client holding its
    /// binding: whoever saw the state alone can neither use nor spend it. Expired flows are
    /// returned too (the caller says why they are refused).
    async fn take_flow(&self, state_hash: &str, binding_hash: &str) -> StoreResult<Option<OAuthFlow>>;
    /// Deletes flows that expired before `before`; returns how many.
    async fn purge_flows(&self, before: OffsetDateTime) -> StoreResult<u64>;
}

/// The OAuth2 / OpenID Connect providers this installation is configured with.
#[async_trait]
pub trait IdentityProviders: Send + Sync + std::fmt::Debug {
    /// The configured providers.
    fn enabled(&self) -> Vec<Provider>;
    /// Where to send the person to sign in at `provider`; `None` when it is not configured.
    fn authorization_url(&self, provider: Provider, request: &AuthorizationRequest) -> Option<String>;
    /// Exchanges the code (with the PKCE verifier) and reads who signed in: for OpenID Connect,
    /// from the ID token after checking its signature, issuer, audience, expiry and nonce.
    async fn profile(&self, provider: Provider, grant: &CodeGrant) -> Result<ProviderProfile, ProviderProblem>;
}

/// Communities, their roles, members, invites and bans (see [`crate::chat::community`]). Each
/// change commits with its audit entry.
#[async_trait]
pub trait CommunityRepo: Send + Sync + std::fmt::Debug {
    /// Creates the community with its `@everyone` role and its owner as first member.
    async fn create_community(
        &self,
        community: &Community,
        everyone: &CommunityRole,
        owner: &Member,
        audit: &AuditEntry,
    ) -> StoreResult<()>;
    async fn community(&self, id: CommunityId) -> StoreResult<Option<Community>>;
    /// Writes the name and description.
    async fn update_community(&self, community: &Community, audit: &AuditEntry) -> StoreResult<()>;
    /// Deletes the community and everything in it.
    async fn delete_community(&self, id: CommunityId, audit: &AuditEntry) -> StoreResult<()>;
    /// The communities `user` is a member of, oldest membership first.
    async fn communities_of(&self, user: UserId) -> StoreResult<Vec<Community>>;
    async fn member_count(&self, id: CommunityId) -> StoreResult<u64>;
    /// The community's roles, `@everyone` first, then by position and id.
    async fn roles(&self, id: CommunityId) -> StoreResult<Vec<CommunityRole>>;
    /// Inserts or updates a role.
    async fn save_role(&self, role: &CommunityRole, audit: &AuditEntry) -> StoreResult<()>;
    /// Deletes a role (never `@everyone`) and takes it from every member; false when absent.
    async fn delete_role(&self, community: CommunityId, role: RoleId, audit: &AuditEntry) -> StoreResult<bool>;
    async fn member(&self, community: CommunityId, user: UserId) -> StoreResult<Option<Member>>;
    /// Members by user id, after `after`, at most `limit`.
    async fn members(&self, community: CommunityId, after: Option<UserId>, limit: u32) -> StoreResult<Vec<Member>>;
    /// Writes a member's nickname, roles and timeout; false when they are not a member.
    async fn update_member(&self, member: &Member, audit: &AuditEntry) -> StoreResult<bool>;
    /// Removes a member (leaving or kicked); false when they were not one.
    async fn remove_member(&self, community: CommunityId, user: UserId, audit: &AuditEntry) -> StoreResult<bool>;
    async fn save_invite(&self, invite: &Invite, audit: &AuditEntry) -> StoreResult<()>;
    async fn invite(&self, code: &str) -> StoreResult<Option<Invite>>;
    async fn invites(&self, community: CommunityId) -> StoreResult<Vec<Invite>>;
    async fn delete_invite(&self, code: &str, audit: &AuditEntry) -> StoreResult<bool>;
    /// Joins through an invite, in one transaction: refused when banned or when the invite is
    /// unknown, expired or used up (its use counted by one conditional UPDATE, so concurrent
    /// joins never exceed `max_uses`); an existing member is returned without using it.
    async fn join(&self, code: &str, member: &Member, now: OffsetDateTime, audit: &AuditEntry) -> StoreResult<Joined>;
    /// Bans (replacing an earlier ban's reason) and removes the member, if one, in one
    /// transaction that takes turns with joins of the community: a join either committed
    /// before (and is undone here) or sees the ban. True when a member was removed.
    async fn ban(&self, ban: &Ban, audit: &AuditEntry) -> StoreResult<bool>;
    async fn unban(&self, community: CommunityId, user: UserId, audit: &AuditEntry) -> StoreResult<bool>;
    async fn bans(&self, community: CommunityId) -> StoreResult<Vec<Ban>>;
}

/// The channels of communities and their permission overwrites.
#[async_trait]
pub trait ChannelRepo: Send + Sync + std::fmt::Debug {
    /// Creates a channel (its overwrites too), with its audit entry; a thread's owner joins it
    /// in the same transaction. A thread started from a message that already has one is
    /// `StoreError::Conflict`.
    async fn create_channel(&self, channel: &Channel, audit: &AuditEntry) -> StoreResult<()>;
    /// A channel with its overwrites (a thread: none).
    async fn channel(&self, id: ChannelId) -> StoreResult<Option<Channel>>;
    /// A community's channels with their overwrites, by position then id; threads are not in it.
    async fn channels(&self, community: CommunityId) -> StoreResult<Vec<Channel>>;
    /// Writes name, topic, parent, position and slowmode (and a thread's archived time and
    /// lock); false when there is no such channel.
    async fn update_channel(&self, channel: &Channel, audit: &AuditEntry) -> StoreResult<bool>;
    /// Deletes a channel and its threads; the channels of a deleted category stay, outside any
    /// category.
    async fn delete_channel(&self, id: ChannelId, audit: &AuditEntry) -> StoreResult<bool>;
    /// A page of a channel's threads, newest first: the archived ones or the others.
    async fn threads(
        &self,
        parent: ChannelId,
        archived: bool,
        before: Option<ChannelId>,
        limit: u32,
    ) -> StoreResult<Vec<Channel>>;
    /// Archives, in one statement, every open thread with no message (nor creation) within its
    /// `auto_archive_minutes` before `now`; returns them as archived.
    async fn archive_idle_threads(&self, now: OffsetDateTime) -> StoreResult<Vec<Channel>>;
    /// Every thread of a community that is not archived, oldest first.
    async fn active_threads(&self, community: CommunityId) -> StoreResult<Vec<Channel>>;
    /// Adds `user` to a thread; false when they were in it already.
    async fn join_thread(&self, thread: ChannelId, user: UserId, at: OffsetDateTime) -> StoreResult<bool>;
    /// false when they were not in it.
    async fn leave_thread(&self, thread: ChannelId, user: UserId) -> StoreResult<bool>;
    /// A thread's members, earliest first, at most `limit`.
    async fn thread_members(&self, thread: ChannelId, limit: u32) -> StoreResult<Vec<ThreadMember>>;
    /// The threads of a community `user` is in.
    async fn joined_threads(&self, community: CommunityId, user: UserId) -> StoreResult<Vec<ChannelId>>;
    /// Stores a conversation with its people; a two-person one whose pair already has one is
    /// not stored, and that one is returned instead (`false`), even when two starts race.
    async fn create_direct(&self, channel: &DirectChannel) -> StoreResult<(DirectChannel, bool)>;
    async fn direct_channel(&self, id: ChannelId) -> StoreResult<Option<DirectChannel>>;
    /// The conversations `user` is in, newest first.
    async fn direct_channels_of(&self, user: UserId) -> StoreResult<Vec<DirectChannel>>;
    /// false when they were in it already.
    async fn add_recipient(&self, channel: ChannelId, user: UserId) -> StoreResult<bool>;
    /// false when they were not in it; [`StoreError::Conflict`] (`owner`) for a group's owner
    /// while others remain, decided in the store's transaction (which takes turns with
    /// [`ChannelRepo::update_group`]).
    async fn remove_recipient(&self, channel: ChannelId, user: UserId) -> StoreResult<bool>;
    /// Renames a group and/or hands it over (`name`, `owner` when given; nothing else is
    /// written, so concurrent changes of the other field stand). A handover happens only if
    /// `by` owns the group now and the new owner is in it now. The group as it then is, or
    /// `None` when refused (or gone).
    async fn update_group(
        &self,
        channel: ChannelId,
        by: UserId,
        name: Option<&str>,
        owner: Option<UserId>,
    ) -> StoreResult<Option<DirectChannel>>;
    /// Sets (inserts or replaces) the overwrite for its target.
    async fn set_overwrite(&self, channel: ChannelId, overwrite: &Overwrite, audit: &AuditEntry) -> StoreResult<()>;
    async fn remove_overwrite(
        &self,
        channel: ChannelId,
        target: OverwriteTarget,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;
}

/// Presence: each person's chosen status and activity, and their live gateway connections.
#[async_trait]
pub trait PresenceRepo: Send + Sync + std::fmt::Debug {
    async fn setting(&self, user: UserId) -> StoreResult<Option<PresenceSetting>>;
    async fn set_setting(&self, setting: &PresenceSetting) -> StoreResult<()>;
    /// Counts a connection of `user`'s, held by `node`, until `until` (or replaces its lease).
    async fn connect(&self, user: UserId, connection: &str, node: &str, until: OffsetDateTime) -> StoreResult<()>;
    async fn disconnect(&self, connection: &str) -> StoreResult<()>;
    /// Extends the lease of every connection `node` holds.
    async fn renew(&self, node: &str, until: OffsetDateTime) -> StoreResult<()>;
    /// Forgets connections whose lease ran out by `now`; the people left with none (each once,
    /// even when several nodes expire at once).
    async fn expire(&self, now: OffsetDateTime) -> StoreResult<Vec<UserId>>;
    async fn is_connected(&self, user: UserId, now: OffsetDateTime) -> StoreResult<bool>;
    /// The settings (`online` for those who never chose) of a community's members with a live
    /// connection, at most `limit`.
    async fn connected_in(
        &self,
        community: CommunityId,
        now: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<PresenceSetting>>;
}

/// What deleting a member's recent messages removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purged {
    pub messages: u64,
    /// The storage keys of their files, for the caller to remove once committed.
    pub attachment_keys: Vec<String>,
}

/// Messages of channels.
#[async_trait]
pub trait MessageRepo: Send + Sync + std::fmt::Debug {
    /// Stores a message, unless its author already posted one with the same nonce in the
    /// channel: then that one is returned (a retried send posts once, even when the retries race).
    async fn post(&self, message: &Message) -> StoreResult<Posted>;
    async fn message(&self, id: MessageId) -> StoreResult<Option<Message>>;
    /// The message `author` sent in `channel` with this nonce, if any.
    async fn by_nonce(&self, channel: ChannelId, author: UserId, nonce: &str) -> StoreResult<Option<Message>>;
    /// A page of a channel's messages, newest first.
    async fn history(&self, channel: ChannelId, cursor: HistoryCursor, limit: u32) -> StoreResult<Vec<Message>>;
    /// Replaces a live message's text and mentions, keeping the earlier text; false when the
    /// message is gone.
    async fn edit_message(&self, message: &Message, previous: &MessageEdit) -> StoreResult<bool>;
    async fn edits(&self, id: MessageId) -> StoreResult<Vec<MessageEdit>>;
    /// A live message's file.
    async fn attachment(&self, id: AttachmentId) -> StoreResult<Option<Attachment>>;
    /// Leaves a tombstone (no text, no mentions, no files) and forgets the edits; false when
    /// already gone.
    async fn delete_message(&self, id: MessageId, now: OffsetDateTime) -> StoreResult<bool>;
    /// When `author` last posted in `channel`.
    async fn last_post(&self, channel: ChannelId, author: UserId) -> StoreResult<Option<OffsetDateTime>>;
    /// Adds `user`'s reaction, unless the message carries `max_emoji` different emoji already
    /// and this is a new one (`Reacted::TooMany`); `Reacted::Already` when it was there.
    async fn add_reaction(
        &self,
        message: MessageId,
        user: UserId,
        emoji: &str,
        max_emoji: usize,
        now: OffsetDateTime,
    ) -> StoreResult<Reacted>;
    async fn remove_reaction(&self, message: MessageId, user: UserId, emoji: &str) -> StoreResult<bool>;
    /// Removes every reaction (or every one with `emoji`); how many.
    async fn clear_reactions(&self, message: MessageId, emoji: Option<&str>) -> StoreResult<u64>;
    /// Who reacted with `emoji`, by user id after `after`.
    async fn reactors(
        &self,
        message: MessageId,
        emoji: &str,
        after: Option<UserId>,
        limit: u32,
    ) -> StoreResult<Vec<UserId>>;
    /// Each emoji's count on the message (first reacted first), and whether `viewer` is among.
    async fn reaction_counts(&self, message: MessageId, viewer: UserId) -> StoreResult<Vec<ReactionCount>>;
    /// Pins a message, unless the channel has `max` pins (`false`); pinning twice is no change.
    async fn pin(
        &self,
        channel: ChannelId,
        message: MessageId,
        by: UserId,
        max: usize,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    async fn unpin(&self, channel: ChannelId, message: MessageId) -> StoreResult<bool>;
    /// The channel's pins, newest pin first.
    async fn pins(&self, channel: ChannelId) -> StoreResult<Vec<Pin>>;
    /// Tombstones every live message `author` posted since `since` in the channels (and threads)
    /// of `community`: how many, and the storage keys of the files they carried.
    async fn delete_recent(
        &self,
        community: CommunityId,
        author: UserId,
        since: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Purged>;
    /// Marks `channel` read by `user` up to `message`; never moves the mark backwards.
    async fn ack(&self, user: UserId, channel: ChannelId, message: MessageId) -> StoreResult<()>;
    /// `user`'s read state in `channel`: unread messages are live ones by others after the mark;
    /// mentions among them name the user, one of `roles`, or everyone.
    async fn read_state(&self, user: UserId, channel: ChannelId, roles: &[RoleId]) -> StoreResult<ReadState>;
}

/// Tracks and their processing jobs (see [`crate::catalog`]).
#[async_trait]
pub trait TrackRepo: Send + Sync + std::fmt::Debug {
    /// Stores a new track and the job that will process it, in one transaction.
    async fn create_track(&self, track: &Track, job: &NewJob) -> StoreResult<()>;
    async fn track(&self, id: TrackId) -> StoreResult<Option<Track>>;
    /// A page of `owner`'s tracks, newest first; only public ones unless `all`.
    async fn tracks_by_owner(&self, owner: UserId, all: bool, page: PageRequest) -> StoreResult<Vec<Track>>;
    /// Applies the patch; `None` when the track is gone.
    async fn update_track(&self, id: TrackId, patch: &TrackPatch, now: OffsetDateTime) -> StoreResult<Option<Track>>;
    /// Removes the track and its jobs; false when it was already gone.
    async fn delete_track(&self, id: TrackId) -> StoreResult<bool>;
    /// How many public tracks each of `owners` has (the count on their profile), in no
    /// particular order; owners with none may be left out.
    async fn public_track_counts(&self, owners: &[UserId]) -> StoreResult<Vec<(UserId, u64)>>;
    /// Records progress of a processing track, if `claim` still holds its job.
    async fn track_progress(&self, claim: Claim, id: TrackId, percent: u8) -> StoreResult<()>;
    /// Ends processing — ready with what it measured, or failed with a reason — and finishes
    /// the job, in one transaction, if `claim` still holds it.
    async fn finish_track(
        &self,
        claim: Claim,
        id: TrackId,
        outcome: &Outcome,
        now: OffsetDateTime,
    ) -> StoreResult<Finished>;
}

/// Who follows whom (see [`crate::social`]). Each follow is a row with its own id; the two
/// counts it moves (the follower's `following`, the followee's `followers`) change in the same
/// transaction, and only when a row was really added or removed.
#[async_trait]
pub trait FollowRepo: Send + Sync + std::fmt::Debug {
    /// Records that `follower` follows `followee`, as row `id`. [`Linked::Already`], changing
    /// nothing, when they already do; [`Linked::Gone`] when the followee no longer exists.
    async fn follow(&self, id: i64, follower: UserId, followee: UserId, at: OffsetDateTime) -> StoreResult<Linked>;
    /// False, changing nothing, when `follower` did not follow `followee`.
    async fn unfollow(&self, follower: UserId, followee: UserId) -> StoreResult<bool>;
    async fn is_following(&self, follower: UserId, followee: UserId) -> StoreResult<bool>;
    /// Up to `page.limit + 1` of `user`'s followers, the latest follow first.
    async fn followers(&self, user: UserId, page: PageRequest) -> StoreResult<Vec<Edge<UserId>>>;
    /// Up to `page.limit + 1` of the people `user` follows, the latest follow first.
    async fn following(&self, user: UserId, page: PageRequest) -> StoreResult<Vec<Edge<UserId>>>;
    /// The accounts among `ids` that exist, with their follow counts, in no particular order.
    async fn people(&self, ids: &[UserId]) -> StoreResult<Vec<(User, FollowCounts)>>;
}

/// Likes and reposts of tracks and playlists (see [`crate::social`]). Each is a row with its own
/// id; the target's count changes in the same transaction, and only when a row was really added
/// or removed. The lists of someone's likes and reposts leave out what `viewer` may not see:
/// kept are public things, the viewer's own (and playlists they collaborate on), and, in their
/// own list, unlisted ones they reached.
#[async_trait]
pub trait ReactionRepo: Send + Sync + std::fmt::Debug {
    /// [`Linked::Already`] when `user` already likes it; [`Linked::Gone`] when it no longer
    /// exists.
    async fn like(&self, id: i64, user: UserId, target: Target, at: OffsetDateTime) -> StoreResult<Linked>;
    async fn unlike(&self, user: UserId, target: Target) -> StoreResult<bool>;
    /// Up to `page.limit + 1` of the tracks `user` likes, the latest liked first.
    async fn liked_tracks(
        &self,
        user: UserId,
        viewer: Option<UserId>,
        page: PageRequest,
    ) -> StoreResult<Vec<Edge<Track>>>;
    async fn liked_playlists(
        &self,
        user: UserId,
        viewer: Option<UserId>,
        page: PageRequest,
    ) -> StoreResult<Vec<Edge<Playlist>>>;
    async fn likers(&self, target: Target, page: PageRequest) -> StoreResult<Vec<Edge<UserId>>>;
    /// Reposts it with a caption; a repost already there keeps its place and takes the new
    /// caption ([`Linked::Already`]).
    async fn repost(
        &self,
        id: i64,
        user: UserId,
        target: Target,
        caption: Option<&str>,
        at: OffsetDateTime,
    ) -> StoreResult<Linked>;
    async fn unrepost(&self, user: UserId, target: Target) -> StoreResult<bool>;
    async fn reposted_tracks(
        &self,
        user: UserId,
        viewer: Option<UserId>,
        page: PageRequest,
    ) -> StoreResult<Vec<Edge<Track>>>;
    async fn reposted_playlists(
        &self,
        user: UserId,
        viewer: Option<UserId>,
        page: PageRequest,
    ) -> StoreResult<Vec<Edge<Playlist>>>;
    async fn reposters(&self, target: Target, page: PageRequest) -> StoreResult<Vec<Edge<UserId>>>;
}

/// Timed comments on tracks (see [`crate::social::comments`]). A comment is counted on its track
/// in the transaction that adds or removes it.
#[async_trait]
pub trait CommentRepo: Send + Sync + std::fmt::Debug {
    /// Stores the comment unless its track is gone or closed to comments, or the comment it
    /// replies to is gone, on another track, or itself a reply — decided in the transaction that
    /// stores it.
    async fn post_comment(&self, comment: &Comment) -> StoreResult<CommentPosted>;
    async fn comment(&self, id: CommentId) -> StoreResult<Option<Comment>>;
    /// Up to `limit + 1` of the track's comments after `cursor`, in its order.
    async fn comments(&self, track: TrackId, cursor: CommentCursor, limit: u32) -> StoreResult<Vec<Comment>>;
    /// `None` when the comment is gone.
    async fn edit_comment(&self, id: CommentId, body: &str, at: OffsetDateTime) -> StoreResult<Option<Comment>>;
    /// Removes the comment and its replies; how many went.
    async fn delete_comment(&self, id: CommentId) -> StoreResult<u64>;
}

/// Playlists, their items and collaborators (see [`crate::social::playlists`]). Every change of
/// a playlist's items or collaborators takes the playlist's row first, so they take turns: the
/// limits hold under races, and a move computes its position from neighbours that stay put.
#[async_trait]
pub trait PlaylistRepo: Send + Sync + std::fmt::Debug {
    async fn create_playlist(&self, playlist: &Playlist) -> StoreResult<()>;
    async fn playlist(&self, id: PlaylistId) -> StoreResult<Option<Playlist>>;
    /// `None` when the playlist is gone.
    async fn update_playlist(
        &self,
        id: PlaylistId,
        patch: &PlaylistPatch,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Playlist>>;
    async fn delete_playlist(&self, id: PlaylistId) -> StoreResult<bool>;
    /// Up to `page.limit + 1` of `owner`'s playlists, newest first; only public ones unless `all`.
    async fn playlists_by_owner(&self, owner: UserId, all: bool, page: PageRequest) -> StoreResult<Vec<Playlist>>;
    /// Every item, in the playlist's order.
    async fn playlist_items(&self, id: PlaylistId) -> StoreResult<Vec<PlaylistItem>>;
    /// Puts the track at `index` (the end when `None` or past it).
    async fn add_item(
        &self,
        playlist: PlaylistId,
        item: PlaylistItemId,
        track: TrackId,
        index: Option<usize>,
        by: UserId,
        at: OffsetDateTime,
    ) -> StoreResult<Added>;
    /// Moves the item to `index` (0 is first); false when it is not in the playlist.
    async fn move_item(&self, playlist: PlaylistId, item: PlaylistItemId, index: usize) -> StoreResult<bool>;
    async fn remove_item(&self, playlist: PlaylistId, item: PlaylistItemId) -> StoreResult<bool>;
    /// Adds (`on`) or removes a collaborator; false when nothing changed, or when adding would
    /// pass `max` collaborators.
    async fn set_collaborator(&self, playlist: PlaylistId, user: UserId, on: bool, max: usize) -> StoreResult<bool>;
}

/// The durable job queue. A claim is a lease: a worker that dies lets go when the lease ends,
/// and the job is claimed again.
#[async_trait]
pub trait JobQueue: Send + Sync + std::fmt::Debug {
    /// Takes the oldest due job no one holds, leased until `lease_until`; counts the attempt,
    /// which makes the claim's fence ([`Claim`]).
    async fn claim_job(&self, now: OffsetDateTime, lease_until: OffsetDateTime) -> StoreResult<Option<Job>>;
    /// Extends the claim's lease; false when the claim no longer holds the job (taken over,
    /// finished, or deleted with its track).
    async fn renew_job(&self, claim: Claim, lease_until: OffsetDateTime) -> StoreResult<bool>;
    /// Lets go of a job to be tried again at `at`, keeping the error; false (nothing written)
    /// when the claim no longer holds it.
    async fn retry_job(&self, claim: Claim, at: OffsetDateTime, error: &str) -> StoreResult<bool>;
}

/// How adding a reaction went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reacted {
    Added,
    Already,
    TooMany,
}

/// Passkeys and their ceremonies (see [`crate::passkey`]).
#[async_trait]
pub trait PasskeyRepo: Send + Sync + std::fmt::Debug {
    /// Stores a passkey, with its audit entry. [`StoreError::Conflict`] (`credential`) when the
    /// credential id is registered already, to any account.
    async fn add_passkey(&self, passkey: &Passkey, audit: &AuditEntry) -> StoreResult<()>;
    /// A user's passkeys, oldest first.
    async fn passkeys_of(&self, user: UserId) -> StoreResult<Vec<Passkey>>;
    async fn passkey_by_credential(&self, credential_id: &str) -> StoreResult<Option<Passkey>>;
    /// Renames one of `user`'s passkeys; false when there is no such passkey of theirs.
    async fn rename_passkey(&self, id: PasskeyId, user: UserId, name: &str) -> StoreResult<bool>;
    /// Records a use: the credential's new serialised form (its counter), when it changed.
    async fn passkey_used(&self, id: PasskeyId, data: Option<&str>, now: OffsetDateTime) -> StoreResult<()>;
    /// Removes one of `user`'s passkeys, with its audit entry, unless it is the account's last
    /// way to sign in (as [`IdentityRepo::unlink`]).
    async fn remove_passkey(&self, id: PasskeyId, user: UserId, audit: &AuditEntry) -> StoreResult<Unlinked>;
    async fn save_ceremony(&self, ceremony: &Ceremony) -> StoreResult<()>;
    /// Removes and returns the ceremony with this id hash (expired or not), so it is finished
    /// at most once.
    async fn take_ceremony(&self, id_hash: &str) -> StoreResult<Option<Ceremony>>;
    /// Deletes ceremonies that expired before `before`; returns how many.
    async fn purge_ceremonies(&self, before: OffsetDateTime) -> StoreResult<u64>;
}

/// The WebAuthn relying party: creates options and checks what authenticators answer. Every
/// refusal is the reason as text, for the client.
pub trait PasskeyCeremonies: Send + Sync + std::fmt::Debug {
    /// Options to create a passkey for this user (`handle`: 16 bytes that identify the account
    /// to authenticators and never change), excluding the credentials they have.
    fn start_registration(
        &self,
        handle: [u8; 16],
        username: &str,
        existing: &[Passkey],
    ) -> Result<CeremonyStart, CoreError>;
    fn finish_registration(&self, response: &serde_json::Value, state: &str) -> Result<NewCredential, String>;
    /// Options to sign in with one of `allowed`, or with any passkey of this site when empty.
    fn start_authentication(&self, allowed: &[Passkey]) -> Result<CeremonyStart, CoreError>;
    /// The credential id (base64url) an authentication response names.
    fn credential_of(&self, response: &serde_json::Value) -> Result<String, String>;
    /// Checks the response against the ceremony and the passkey it names; returns the
    /// passkey's new serialised form when its counter moved.
    fn finish_authentication(
        &self,
        response: &serde_json::Value,
        state: &str,
        passkey: &Passkey,
    ) -> Result<Option<String>, String>;
}

/// A mail to queue in the same transaction as the change that causes it.
#[derive(Debug, Clone, Copy)]
pub struct MailOf<'a> {
    pub id: i64,
    pub mail: &'a OutgoingMail,
}

/// The single-use tokens of [`crate::account_token`].
#[async_trait]
pub trait AccountTokenRepo: Send + Sync + std::fmt::Debug {
    /// Stores a token — voiding the user's earlier live ones of the same purpose when the
    /// purpose [supersedes](TokenPurpose::supersedes) — with the mail that carries it and the
    /// audit entries, in one transaction.
    async fn issue(&self, token: &NewAccountToken, mail: Option<MailOf<'_>>, audit: &[AuditEntry]) -> StoreResult<()>;
    /// A token by its hash, in any state.
    async fn find(&self, hash: &str) -> StoreResult<Option<AccountToken>>;
    /// Deletes the tokens that expired before `before`; returns how many.
    async fn purge_expired(&self, before: OffsetDateTime) -> StoreResult<u64>;
    /// When the user's newest token of this purpose, among those `key` selects, was issued (for
    /// resend cooldowns).
    async fn last_issued(
        &self,
        user: UserId,
        purpose: TokenPurpose,
        key: CooldownKey<'_>,
    ) -> StoreResult<Option<OffsetDateTime>>;
}

#[async_trait]
pub trait SessionRepo: Send + Sync + std::fmt::Debug {
    async fn create(&self, session: &NewSession, audit: &AuditEntry) -> StoreResult<()>;
    async fn lookup_refresh_token(&self, token_hash: &str) -> StoreResult<Option<TokenLookup>>;
    async fn session(&self, id: SessionId) -> StoreResult<Option<Session>>;
    /// Consumes `old_hash` and stores `new_hash` as its successor, atomically and only while the
    /// session is live and `old_hash` unconsumed; otherwise changes nothing and says why.
    async fn rotate(
        &self,
        session: SessionId,
        old_hash: &str,
        new_hash: &str,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> StoreResult<Rotation>;
    /// Revokes one session; false if it was already revoked.
    async fn revoke(
        &self,
        session: SessionId,
        reason: RevokeReason,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;
    /// Revokes every live session of a user; returns how many.
    async fn revoke_all(
        &self,
        user: UserId,
        reason: RevokeReason,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> StoreResult<u64>;
    /// Revokes every live session of a user but `keep`; returns how many.
    async fn revoke_others(
        &self,
        user: UserId,
        keep: SessionId,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> StoreResult<u64>;
    /// A user's sessions that are not revoked, newest first (expired ones included).
    async fn sessions_of(&self, user: UserId) -> StoreResult<Vec<Session>>;
    /// Whether any session of the user, in any state, was started with this user agent (`None`:
    /// without one).
    async fn known_device(&self, user: UserId, user_agent: Option<&str>) -> StoreResult<bool>;
}

#[async_trait]
pub trait ApiKeyRepo: Send + Sync + std::fmt::Debug {
    async fn create(&self, key: &NewApiKey, audit: &AuditEntry) -> StoreResult<()>;
    /// A user's keys that are not revoked, newest first (expired ones included, marked so).
    async fn for_user(&self, user: UserId) -> StoreResult<Vec<ApiKey>>;
    /// A key and its secret's hash.
    async fn get(&self, id: ApiKeyId) -> StoreResult<Option<(ApiKey, String)>>;
    /// Revokes a key of `user`; false when there is no such live key of theirs.
    async fn revoke(&self, id: ApiKeyId, user: UserId, now: OffsetDateTime, audit: &AuditEntry) -> StoreResult<bool>;
    /// Records a use: time and address, and the audit entry when the use is worth one.
    async fn record_use(
        &self,
        id: ApiKeyId,
        now: OffsetDateTime,
        ip: Option<&str>,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()>;
}

#[async_trait]
pub trait AuditRepo: Send + Sync + std::fmt::Debug {
    async fn append(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// Up to `query.page.limit + 1` entries, newest first (the extra one signals another page).
    async fn list(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEntry>>;
}

/// A user's TOTP authenticator, as stored: the secret sealed (encrypted under a server key),
/// pending until a first code enables it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpRecord {
    pub sealed_secret: String,
    pub created_at: OffsetDateTime,
    pub enabled_at: Option<OffsetDateTime>,
    /// The last time step whose code was accepted; a code for it or an earlier step is refused.
    pub last_step: i64,
}

/// What turning a pending authenticator on takes.
#[derive(Debug, Clone, Copy)]
pub struct TotpEnabling<'a> {
    /// The secret the first code was checked against.
    pub sealed_secret: &'a str,
    /// That code's time step: the first one accepted.
    pub step: i64,
    /// The new recovery codes, hashed.
    pub recovery_hashes: &'a [String],
}

/// Second factors: the TOTP authenticator and the recovery codes (stored as SHA-256 hashes).
#[async_trait]
pub trait SecondFactorRepo: Send + Sync + std::fmt::Debug {
    async fn totp(&self, user: UserId) -> StoreResult<Option<TotpRecord>>;
    /// Stores a pending authenticator, replacing an earlier pending one. False, changing
    /// nothing, when one is already enabled.
    async fn set_pending_totp(&self, user: UserId, sealed_secret: &str, now: OffsetDateTime) -> StoreResult<bool>;
    /// Enables the pending authenticator — only if its secret is still `sealed_secret`, the one
    /// the code was checked against — with the step of that code, replaces the recovery codes,
    /// ends the sessions `change` names, with the audit entries, in one transaction. False when
    /// there was no such pending authenticator (a newer setup replaced it meanwhile).
    async fn enable_totp(
        &self,
        user: UserId,
        enabling: &TotpEnabling<'_>,
        change: &CredentialChange,
        now: OffsetDateTime,
        audit: &[AuditEntry],
    ) -> StoreResult<bool>;
    /// Removes the authenticator and the recovery codes and ends the sessions `change` names,
    /// in one transaction. False when 2FA was not enabled.
    async fn disable_totp(
        &self,
        user: UserId,
        change: &CredentialChange,
        now: OffsetDateTime,
        audit: &[AuditEntry],
    ) -> StoreResult<bool>;
    /// Accepts a code's step once: true, recording it, only when the step is later than every
    /// step accepted before (so a code is never accepted twice, even by two requests at once).
    async fn use_totp_step(&self, user: UserId, step: i64) -> StoreResult<bool>;
    /// Whether the user has this unused recovery code (spending it is a separate step).
    async fn has_recovery_code(&self, user: UserId, hash: &str) -> StoreResult<bool>;
    /// Spends an unused recovery code; false when there is no such unused code.
    async fn use_recovery_code(&self, user: UserId, hash: &str, now: OffsetDateTime) -> StoreResult<bool>;
    /// Replaces every recovery code of the user, with the audit entries.
    async fn replace_recovery_codes(
        &self,
        user: UserId,
        hashes: &[String],
        now: OffsetDateTime,
        audit: &[AuditEntry],
    ) -> StoreResult<()>;
    /// How many unused recovery codes the user has.
    async fn recovery_codes_left(&self, user: UserId) -> StoreResult<u32>;
}

/// Time-based one-time passwords (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps) and the
/// sealing of their secrets at rest.
pub trait Authenticator: Send + Sync + std::fmt::Debug {
    /// A new random secret (160 bits, as RFC 4226 recommends).
    fn new_secret(&self) -> Result<Vec<u8>, CoreError>;
    /// The secret in base32, as people type it into an authenticator app.
    fn secret_base32(&self, secret: &[u8]) -> String;
    /// The time step whose code `code` is, among the step of `now` and its two neighbours.
    fn matching_step(&self, secret: &[u8], code: &str, now: OffsetDateTime) -> Option<i64>;
    /// The `otpauth://totp/…` URI an authenticator app imports.
    fn provisioning_uri(&self, secret: &[u8], issuer: &str, account: &str) -> String;
    /// That URI as a QR code, in PNG.
    fn qr_png(&self, uri: &str) -> Result<Vec<u8>, CoreError>;
    /// Encrypts a secret for storage.
    fn seal(&self, secret: &[u8]) -> Result<String, CoreError>;
    /// Decrypts a sealed secret; an error when it was not sealed with this server's key.
    fn open(&self, sealed: &str) -> Result<Vec<u8>, CoreError>;
}

/// Password hashing. Async because a good hash is deliberately slow: adapters run it off the
/// request threads.
#[async_trait]
pub trait PasswordHasher: Send + Sync + std::fmt::Debug {
    async fn hash(&self, password: String) -> Result<String, CoreError>;
    /// Verifies a password. With `hash: None` it spends the same time as a real check and
    /// returns false, so unknown accounts cannot be told from wrong passwords by timing.
    async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, CoreError>;
}

/// The claims of an access token, as the domain needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    pub user_id: UserId,
    pub session_id: SessionId,
    pub role: Role,
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// Unique token id (`jti`).
    pub token_id: String,
}

/// One public key of the token signer, as a JSON Web Key (RFC 7517/8037).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Jwk {
    /// Always `OKP` (octet key pair) for Ed25519.
    pub kty: String,
    pub crv: String,
    /// The public key, base64url without padding.
    pub x: String,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
}

/// Issues and verifies access tokens.
pub trait TokenSigner: Send + Sync + std::fmt::Debug {
    fn issue(&self, claims: &AccessClaims) -> Result<String, CoreError>;
    fn verify(&self, token: &str) -> Result<AccessClaims, TokenProblem>;
    /// The public keys that verify tokens, for `/.well-known/jwks.json`.
    fn public_keys(&self) -> Vec<Jwk>;
}

/// Where the chat use cases announce committed changes. Announcing cannot fail the change: it
/// is already stored, and a client that missed the live event finds it over REST.
#[async_trait]
pub trait ChatEvents: Send + Sync + std::fmt::Debug {
    async fn publish(&self, event: crate::chat::event::ChatEvent);
}

/// A bus failure: the connection to it is down or refused the command.
#[derive(Debug, Clone, thiserror::Error)]
#[error("event bus unavailable: {0}")]
pub struct BusError(pub String);

/// Carries encoded events between the nodes of a cluster, by topic. A node subscribes only to
/// the topics its local sessions are interested in; what arrives is handed, in the order the
/// bus delivered it, to the channel the adapter was built with (see [`BusDelivery`]).
#[async_trait]
pub trait EventBus: Send + Sync + std::fmt::Debug {
    /// Publishes; returns how many nodes' subscriptions it reached (Redis's answer to
    /// `PUBLISH`; 1 in process).
    async fn publish(&self, topic: &str, payload: std::sync::Arc<str>) -> Result<u64, BusError>;
    /// Returns once the bus delivers the topic to this node.
    async fn subscribe(&self, topic: &str) -> Result<(), BusError>;
    async fn unsubscribe(&self, topic: &str) -> Result<(), BusError>;
}

/// What a bus hands to its node.
#[derive(Debug, Clone)]
pub enum BusDelivery {
    Event {
        topic: String,
        payload: std::sync::Arc<str>,
    },
    /// The node's link to the bus broke: until [`BusDelivery::Gap`] says it is re-made, nothing
    /// published reaches this node.
    Lost,
    /// The node's link to the bus broke and was re-made: events of that gap may be missing, so
    /// the sessions relying on them must re-sync.
    Gap,
}

/// The other nodes of a cluster, as a cache sees them: told when what their caches may hold
/// has changed, so that they drop it.
#[async_trait]
pub trait CachePeers: Send + Sync + std::fmt::Debug {
    /// Returns once every node reached has dropped what it cached, or a bound has passed (a
    /// node that cannot be reached stops serving from its cache on its own; see
    /// [`BusDelivery::Lost`]).
    async fn changed(&self);
}
