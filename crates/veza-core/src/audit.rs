//! The audit log: an append-only record of security-relevant events. Entries name who acted, on
//! whom, from where, and why — never a secret (no passwords, tokens or hashes go in `detail`).

use time::OffsetDateTime;

use crate::id::{AuditId, UserId};
use crate::page::PageRequest;

/// Every kind of event the log records. The string forms are stable: clients filter on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    UserRegistered,
    LoginSucceeded,
    LoginFailed,
    TokenRefreshed,
    RefreshTokenReuse,
    Logout,
    LogoutAll,
    ProfileUpdated,
    AdminUserCreated,
    AdminUserDisabled,
    AdminUserEnabled,
    AdminUserRoleChanged,
    ApiKeyCreated,
    ApiKeyRevoked,
    ApiKeyUsed,
    SessionRevoked,
    OtherSessionsRevoked,
    LoginThrottled,
    EmailVerificationSent,
    EmailVerified,
    EmailChangeRequested,
    EmailChanged,
    PasswordResetRequested,
    PasswordReset,
    PasswordChanged,
    AccountTokenRefused,
    TotpEnabled,
    TotpDisabled,
    RecoveryCodesGenerated,
    MfaFailed,
    RecoveryCodeUsed,
    MagicLinkRequested,
    AdminSessionsRevoked,
    IdentityLinked,
    IdentityUnlinked,
    PasskeyAdded,
    PasskeyRemoved,
    CommunityCreated,
    CommunityUpdated,
    CommunityDeleted,
    CommunityRoleChanged,
    MemberJoined,
    MemberLeft,
    MemberKicked,
    MemberUpdated,
    MemberBanned,
    MemberUnbanned,
    InviteCreated,
    InviteDeleted,
    ChannelCreated,
    ChannelUpdated,
    ChannelDeleted,
    ChannelPermissionsChanged,
}

impl AuditAction {
    pub const ALL: [Self; 53] = [
        Self::UserRegistered,
        Self::LoginSucceeded,
        Self::LoginFailed,
        Self::TokenRefreshed,
        Self::RefreshTokenReuse,
        Self::Logout,
        Self::LogoutAll,
        Self::ProfileUpdated,
        Self::AdminUserCreated,
        Self::AdminUserDisabled,
        Self::AdminUserEnabled,
        Self::AdminUserRoleChanged,
        Self::ApiKeyCreated,
        Self::ApiKeyRevoked,
        Self::ApiKeyUsed,
        Self::SessionRevoked,
        Self::OtherSessionsRevoked,
        Self::LoginThrottled,
        Self::EmailVerificationSent,
        Self::EmailVerified,
        Self::EmailChangeRequested,
        Self::EmailChanged,
        Self::PasswordResetRequested,
        Self::PasswordReset,
        Self::PasswordChanged,
        Self::AccountTokenRefused,
        Self::TotpEnabled,
        Self::TotpDisabled,
        Self::RecoveryCodesGenerated,
        Self::MfaFailed,
        Self::RecoveryCodeUsed,
        Self::MagicLinkRequested,
        Self::AdminSessionsRevoked,
        Self::IdentityLinked,
        Self::IdentityUnlinked,
        Self::PasskeyAdded,
        Self::PasskeyRemoved,
        Self::CommunityCreated,
        Self::CommunityUpdated,
        Self::CommunityDeleted,
        Self::CommunityRoleChanged,
        Self::MemberJoined,
        Self::MemberLeft,
        Self::MemberKicked,
        Self::MemberUpdated,
        Self::MemberBanned,
        Self::MemberUnbanned,
        Self::InviteCreated,
        Self::InviteDeleted,
        Self::ChannelCreated,
        Self::ChannelUpdated,
        Self::ChannelDeleted,
        Self::ChannelPermissionsChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserRegistered => "user.registered",
            Self::LoginSucceeded => "auth.login.succeeded",
            Self::LoginFailed => "auth.login.failed",
            Self::TokenRefreshed => "auth.token.refreshed",
            Self::RefreshTokenReuse => "auth.token.reuse_detected",
            Self::Logout => "auth.logout",
            Self::LogoutAll => "auth.logout_all",
            Self::ProfileUpdated => "user.profile_updated",
            Self::AdminUserCreated => "admin.user_created",
            Self::AdminUserDisabled => "admin.user_disabled",
            Self::AdminUserEnabled => "admin.user_enabled",
            Self::AdminUserRoleChanged => "admin.user_role_changed",
            Self::ApiKeyCreated => "api_key.created",
            Self::ApiKeyRevoked => "api_key.revoked",
            Self::ApiKeyUsed => "api_key.used",
            Self::SessionRevoked => "auth.session.revoked",
            Self::OtherSessionsRevoked => "auth.session.others_revoked",
            Self::LoginThrottled => "auth.login.throttled",
            Self::EmailVerificationSent => "auth.email.verification_sent",
            Self::EmailVerified => "auth.email.verified",
            Self::EmailChangeRequested => "auth.email.change_requested",
            Self::EmailChanged => "auth.email.changed",
            Self::PasswordResetRequested => "auth.password.reset_requested",
            Self::PasswordReset => "auth.password.reset",
            Self::PasswordChanged => "auth.password.changed",
            Self::AccountTokenRefused => "auth.account_token.refused",
            Self::TotpEnabled => "auth.mfa.totp_enabled",
            Self::TotpDisabled => "auth.mfa.totp_disabled",
            Self::RecoveryCodesGenerated => "auth.mfa.recovery_codes_generated",
            Self::MfaFailed => "auth.mfa.failed",
            Self::RecoveryCodeUsed => "auth.mfa.recovery_code_used",
            Self::MagicLinkRequested => "auth.magic_link.requested",
            Self::AdminSessionsRevoked => "admin.sessions_revoked",
            Self::IdentityLinked => "identity.linked",
            Self::IdentityUnlinked => "identity.unlinked",
            Self::PasskeyAdded => "passkey.added",
            Self::PasskeyRemoved => "passkey.removed",
            Self::CommunityCreated => "community.created",
            Self::CommunityUpdated => "community.updated",
            Self::CommunityDeleted => "community.deleted",
            Self::CommunityRoleChanged => "community.role_changed",
            Self::MemberJoined => "community.member_joined",
            Self::MemberLeft => "community.member_left",
            Self::MemberKicked => "community.member_kicked",
            Self::MemberUpdated => "community.member_updated",
            Self::MemberBanned => "community.member_banned",
            Self::MemberUnbanned => "community.member_unbanned",
            Self::InviteCreated => "community.invite_created",
            Self::InviteDeleted => "community.invite_deleted",
            Self::ChannelCreated => "channel.created",
            Self::ChannelUpdated => "channel.updated",
            Self::ChannelDeleted => "channel.deleted",
            Self::ChannelPermissionsChanged => "channel.permissions_changed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// Where a request came from, carried into every audit entry it causes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// Long user agents are cut to this many characters before storage.
pub const USER_AGENT_MAX: usize = 512;

impl RequestMeta {
    pub fn new(ip: Option<String>, user_agent: Option<&str>, request_id: Option<String>) -> Self {
        let user_agent = user_agent.map(|ua| ua.chars().filter(|c| !c.is_control()).take(USER_AGENT_MAX).collect());
        Self { ip, user_agent, request_id }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: AuditId,
    pub action: AuditAction,
    /// Who acted; `None` for anonymous requests and the command line.
    pub actor: Option<UserId>,
    /// Whom it concerned.
    pub target: Option<UserId>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// Non-secret specifics, such as a failure reason or the names of changed fields.
    pub detail: serde_json::Map<String, serde_json::Value>,
    pub created_at: OffsetDateTime,
}

/// A filtered, paged read of the log, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditQuery {
    pub actor: Option<UserId>,
    /// Entries where this user is the actor or the target.
    pub involving: Option<UserId>,
    pub action: Option<AuditAction>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    pub page: PageRequest,
}
