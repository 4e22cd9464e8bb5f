//! The route table: every route of the API in one place, each handler in its own file named
//! after its path (`auth/register.rs` is `POST /api/v1/auth/register`).

pub mod admin;
pub mod audit_params;
pub mod auth;
pub mod channels;
pub mod communities;
pub mod invites;
pub mod me;
pub mod media;
pub mod ops;
pub mod playlists;
pub mod tracks;
pub mod users;

use axum::http::Method;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use veza_core::page::PageRequest;
use veza_core::rate_limit::RouteBucket;

use crate::openapi::ApiDoc;
use crate::state::AppState;

/// The paging of a list that runs newest first.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[0-9]{1,18}$")]
    pub before: Option<String>,
}

impl PageParams {
    pub fn page(&self) -> Result<PageRequest, veza_core::CoreError> {
        PageRequest::parse(self.limit, self.before.as_deref())
    }
}

/// The routes that take JSON bodies or need authentication, under `/api/v1`.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::register::register))
        .routes(routes!(auth::login::login))
        .routes(routes!(auth::login_mfa::login_mfa))
        .routes(routes!(auth::magic_link::magic_link))
        .routes(routes!(auth::magic_link_verify::magic_link_verify))
        .routes(routes!(auth::oauth::providers::providers))
        .routes(routes!(auth::oauth::start::start))
        .routes(routes!(auth::oauth::callback::callback))
        .routes(routes!(auth::passkeys::options::passkey_login_options))
        .routes(routes!(auth::passkeys::login::passkey_login))
        .routes(routes!(auth::passkeys::mfa_options::mfa_passkey_options))
        .routes(routes!(auth::passkeys::mfa::mfa_passkey))
        .routes(routes!(auth::verify_email::verify_email))
        .routes(routes!(auth::forgot_password::forgot_password))
        .routes(routes!(auth::reset_password::reset_password))
        .routes(routes!(auth::refresh::refresh))
        .routes(routes!(auth::logout::logout))
        .routes(routes!(auth::logout_all::logout_all))
        .routes(routes!(me::get::get_me, me::update::update_me))
        .routes(routes!(me::security_events::security_events))
        .routes(routes!(me::password::change_password))
        .routes(routes!(me::email::change_email))
        .routes(routes!(me::email_verification::resend_verification))
        .routes(routes!(me::two_factor::status::status))
        .routes(routes!(me::two_factor::totp_setup::totp_setup))
        .routes(routes!(me::two_factor::totp_enable::totp_enable))
        .routes(routes!(me::two_factor::totp_disable::totp_disable))
        .routes(routes!(me::two_factor::recovery_codes::regenerate_recovery_codes))
        .routes(routes!(me::api_keys::create::create_api_key, me::api_keys::list::list_api_keys))
        .routes(routes!(me::api_keys::revoke::revoke_api_key))
        .routes(routes!(me::identities::list::list_identities))
        .routes(routes!(me::identities::start::start_link))
        .routes(routes!(me::identities::callback::finish_link))
        .routes(routes!(me::identities::unlink::unlink_identity))
        .routes(routes!(me::passkeys::options::passkey_options))
        .routes(routes!(me::passkeys::add::add_passkey, me::passkeys::list::list_passkeys))
        .routes(routes!(me::passkeys::rename::rename_passkey, me::passkeys::delete::delete_passkey))
        .routes(routes!(me::sessions::list::list_sessions))
        .routes(routes!(me::sessions::revoke::revoke_session))
        .routes(routes!(me::sessions::revoke_others::revoke_other_sessions))
        .routes(routes!(communities::create::create_community))
        .routes(routes!(
            communities::get::get_community,
            communities::update::update_community,
            communities::delete::delete_community
        ))
        .routes(routes!(communities::members::list::list_members))
        .routes(routes!(communities::members::update::update_member, communities::members::remove::remove_member))
        .routes(routes!(communities::roles::list::list_roles, communities::roles::create::create_role))
        .routes(routes!(communities::roles::update::update_role, communities::roles::delete::delete_role))
        .routes(routes!(communities::invites::create::create_invite, communities::invites::list::list_invites))
        .routes(routes!(communities::bans::list::list_bans))
        .routes(routes!(communities::bans::put::ban_member, communities::bans::delete::unban_member))
        .routes(routes!(invites::get::get_invite, invites::accept::accept_invite, invites::delete::delete_invite))
        .routes(routes!(me::communities::my_communities))
        .routes(routes!(communities::channels::create::create_channel, communities::channels::list::list_channels))
        .routes(routes!(channels::get::get_channel, channels::update::update_channel, channels::delete::delete_channel))
        .routes(routes!(channels::permissions::put::set_overwrite, channels::permissions::delete::remove_overwrite))
        .routes(routes!(channels::messages::send::send_message, channels::messages::list::list_messages))
        .routes(routes!(
            channels::messages::get::get_message,
            channels::messages::edit::edit_message,
            channels::messages::delete::delete_message
        ))
        .routes(routes!(channels::messages::edits::message_edits))
        .routes(routes!(
            channels::messages::reactions::summary::reaction_counts,
            channels::messages::reactions::clear::clear_reactions
        ))
        .routes(routes!(
            channels::messages::reactions::users::reactors,
            channels::messages::reactions::clear_emoji::clear_emoji
        ))
        .routes(routes!(channels::messages::reactions::react::react, channels::messages::reactions::unreact::unreact))
        .routes(routes!(channels::pins::list::list_pins))
        .routes(routes!(channels::typing::start_typing))
        .routes(routes!(channels::threads::start::start_thread, channels::threads::list::list_threads))
        .routes(routes!(channels::thread_members::list::thread_members))
        .routes(routes!(channels::thread_members::join::join_thread, channels::thread_members::leave::leave_thread))
        .routes(routes!(channels::thread_members::remove::remove_thread_member))
        .routes(routes!(channels::messages::ack::ack_message))
        .routes(routes!(communities::read_states::read_states))
        .routes(routes!(communities::presences::presences))
        .routes(routes!(me::presence::set_presence))
        .routes(routes!(me::channels::open::open_direct, me::channels::list::my_direct_channels))
        .routes(routes!(me::channels::update::update_group))
        .routes(routes!(channels::recipients::add_recipient, channels::recipients::remove_recipient))
        .routes(routes!(channels::pins::put::pin_message, channels::pins::delete::unpin_message))
        .routes(routes!(users::get::get_user))
        .routes(routes!(users::by_username::get_user_by_username))
        .routes(routes!(tracks::upload::upload_track))
        .routes(routes!(tracks::get::get_track, tracks::update::update_track, tracks::delete::delete_track))
        .routes(routes!(tracks::stream::stream_track))
        .routes(routes!(tracks::waveform::waveform))
        .routes(routes!(users::tracks::user_tracks))
        .routes(routes!(users::follow::follow_state, users::follow::follow, users::follow::unfollow))
        .routes(routes!(users::followers::followers))
        .routes(routes!(users::following::following))
        .routes(routes!(users::likes::user_likes))
        .routes(routes!(users::reposts::user_reposts))
        .routes(routes!(tracks::like::like_track, tracks::like::unlike_track))
        .routes(routes!(tracks::likers::likers))
        .routes(routes!(tracks::repost::repost_track, tracks::repost::unrepost_track))
        .routes(routes!(tracks::reposters::reposters))
        .routes(routes!(tracks::comments::post::post_comment, tracks::comments::list::list_comments))
        .routes(routes!(tracks::comments::edit::edit_comment, tracks::comments::delete::delete_comment))
        .routes(routes!(playlists::create::create_playlist))
        .routes(routes!(
            playlists::get::get_playlist,
            playlists::update::update_playlist,
            playlists::delete::delete_playlist
        ))
        .routes(routes!(playlists::tracks::add::add_to_playlist))
        .routes(routes!(
            playlists::tracks::move_item::move_playlist_item,
            playlists::tracks::remove::remove_from_playlist
        ))
        .routes(routes!(playlists::collaborators::add_collaborator, playlists::collaborators::remove_collaborator))
        .routes(routes!(users::playlists::user_playlists))
        .routes(routes!(playlists::like::like_playlist, playlists::like::unlike_playlist))
        .routes(routes!(playlists::repost::repost_playlist, playlists::repost::unrepost_playlist))
        .routes(routes!(playlists::likers::playlist_likers))
        .routes(routes!(playlists::reposters::playlist_reposters))
        .routes(routes!(admin::audit::audit_log))
        .routes(routes!(admin::users::list::list_users))
        .routes(routes!(admin::users::update::update_user))
        .routes(routes!(admin::users::sessions::end_user_sessions))
}

/// The route's own rate-limit bucket (by its path template), charged on top of its caller's: the
/// routes an attacker would hammer (guessing passwords, creating accounts, replaying refresh tokens).
pub fn bucket_of(method: &Method, path: &str) -> Option<RouteBucket> {
    match (method.as_str(), path) {
        ("POST", "/api/v1/auth/login" | "/api/v1/auth/login/mfa") => Some(RouteBucket::Login),
        ("POST", p) if p.starts_with("/api/v1/auth/oauth/") || p.starts_with("/api/v1/auth/passkeys/") => {
            Some(RouteBucket::Login)
        }
        ("POST", p) if p.starts_with("/api/v1/auth/login/mfa/passkey") => Some(RouteBucket::Login),
        ("POST", p) if p.starts_with("/api/v1/channels/") && p.ends_with("/messages") => Some(RouteBucket::MessageSend),
        ("POST", "/api/v1/auth/register") => Some(RouteBucket::Register),
        ("GET", "/gateway") => Some(RouteBucket::GatewayConnect),
        ("POST", "/api/v1/auth/refresh") => Some(RouteBucket::Refresh),
        ("POST", "/api/v1/auth/password/forgot") => Some(RouteBucket::PasswordReset),
        ("POST", "/api/v1/auth/magic-link") => Some(RouteBucket::MagicLink),
        ("POST", "/api/v1/tracks") => Some(RouteBucket::TrackUpload),
        (
            "PUT" | "DELETE",
            "/api/v1/users/{id}/follow"
            | "/api/v1/tracks/{id}/like"
            | "/api/v1/tracks/{id}/repost"
            | "/api/v1/playlists/{id}/like"
            | "/api/v1/playlists/{id}/repost",
        ) => Some(RouteBucket::SocialAction),
        ("POST", "/api/v1/tracks/{id}/comments") => Some(RouteBucket::CommentPost),
        _ => None,
    }
}

/// Largest body the unauthenticated auth routes read: their JSON is a few hundred bytes, and
/// anyone on the internet can send it, so there is no reason to buffer the general limit.
pub const AUTH_BODY_LIMIT: usize = 8 * 1024;

/// The route's own body limit, when it is below the general `body_limit` (uploads stream under
/// a limit of their own, see [`streams_body`]).
pub fn body_limit_of(method: &Method, path: &str) -> Option<usize> {
    (method == Method::POST && path.starts_with("/api/v1/auth/")).then_some(AUTH_BODY_LIMIT)
}

/// Requests whose body is read as a stream for as long as the client sends it — track uploads,
/// and messages sent with files — so the request timeout does not apply to them (they time out
/// when the client goes idle instead).
pub fn streams_body(method: &Method, path: &str, headers: &axum::http::HeaderMap) -> bool {
    let sends_message = || {
        let channel = path.strip_prefix("/api/v1/channels/").and_then(|rest| rest.strip_suffix("/messages"));
        channel.is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
            && crate::upload::is_multipart(headers)
    };
    method == Method::POST && (path == "/api/v1/tracks" || sends_message())
}

/// Liveness, readiness, metrics and keys.
pub fn ops() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ops::healthz::healthz))
        .routes(routes!(ops::readyz::readyz))
        .routes(routes!(ops::metrics::metrics))
        .routes(routes!(ops::jwks::jwks))
}
