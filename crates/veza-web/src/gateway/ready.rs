//! READY: the first dispatch of a session, describing what its member sees: their communities,
//! the channels of each they may view (with what they may do there) followed by their open
//! threads, and their read states (channels, and the threads they are in).
//! Messages are not in it: a client loads each channel's history over REST after READY, and
//! from then on the dispatches keep it current.

use serde::Serialize;
use veza_core::chat::channel::ChannelKind;
use veza_core::chat::community::Community;
use veza_core::id::{ChannelId, CommunityId, UserId};
use veza_core::CoreError;

use crate::gateway::event::Envelope;
use crate::gateway::session::Session;
use crate::state::AppState;
use crate::wire::{ChannelResponse, CommunityResponse, DirectChannelResponse, PresenceResponse, ReadStateResponse};

#[derive(Serialize)]
struct Ready<'a> {
    session_id: &'a str,
    user_id: UserId,
    communities: Vec<ReadyCommunity>,
    /// The caller's direct conversations, newest first.
    direct_channels: Vec<DirectChannelResponse>,
}

#[derive(Serialize)]
struct ReadyCommunity {
    #[serde(flatten)]
    community: CommunityResponse,
    channels: Vec<ChannelResponse>,
    read_states: Vec<ReadStateResponse>,
    member_count: u64,
    /// More members than the session's `large_threshold`: `presences` is empty, and the
    /// client asks `GET /communities/{id}/presences` when it needs them.
    large: bool,
    /// Members not shown offline (at most 1000).
    presences: Vec<PresenceResponse>,
}

/// The channels the session may view, per community of `mine` it is still in, and the READY
/// dispatch; a community READY leaves out is not in the first either.
pub async fn build(
    app: &AppState,
    session: &Session,
    mine: Vec<Community>,
    large_threshold: u64,
) -> Result<(Vec<(CommunityId, Vec<ChannelId>)>, Envelope), CoreError> {
    let principal = &session.principal;
    let mut visible = Vec::new();
    let mut communities = Vec::new();
    for community in mine {
        let id = community.id;
        let (channels, read_states) = match app.communities.overview(principal, id).await {
            Ok(overview) => overview,
            // Left (or removed) while READY was being built.
            Err(CoreError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        // Threads are seen through their parents: the session keeps channels only.
        let gates = channels.iter().filter(|v| v.channel.kind != ChannelKind::Thread).map(|v| v.channel.id);
        let gates = gates.collect();
        let (member_count, presences) = match app.communities.starting_presences(principal, id, large_threshold).await {
            Ok(found) => found,
            Err(CoreError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        visible.push((id, gates));
        communities.push(ReadyCommunity {
            community: community.into(),
            channels: channels.into_iter().map(Into::into).collect(),
            read_states: read_states.into_iter().map(Into::into).collect(),
            member_count,
            large: presences.is_none(),
            presences: presences.unwrap_or_default().into_iter().map(Into::into).collect(),
        });
    }
    let direct_channels = app.communities.my_direct_channels(principal).await?;
    let direct_channels = direct_channels.into_iter().map(Into::into).collect();
    let ready = Ready { session_id: &session.id, user_id: session.me(), communities, direct_channels };
    let data = serde_json::to_string(&ready).expect("wire types serialize");
    Ok((visible, Envelope::plain("READY", data)))
}
