//! REQUEST: the state-changing actions a client may take over the gateway instead of REST. Each
//! method calls the very use case its REST route calls, answers with the same wire type, and
//! fails with the same problem (status, code, fields) REST would answer with.

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::sync::Arc;

use veza_core::chat::event::Topic;
use veza_core::id::{ChannelId, MessageId, TrackId};
use veza_core::rate_limit::RouteBucket;

use crate::gateway::protocol::{self, op, Close, Request, Response};
use crate::gateway::session::{Follow, Session};
use crate::middleware::rate_limit;
use crate::problem::ApiError;
use crate::state::AppState;
use crate::wire::{MessageResponse, PresenceResponse, ReadStateResponse, SetPresenceRequest};

/// Longest request id a client may choose.
const REQUEST_ID_MAX: usize = 64;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Send {
    channel_id: ChannelId,
    content: String,
    nonce: Option<String>,
    reply_to: Option<MessageId>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    channel_id: ChannelId,
    message_id: MessageId,
    content: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OnMessage {
    channel_id: ChannelId,
    message_id: MessageId,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct React {
    channel_id: ChannelId,
    message_id: MessageId,
    emoji: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InChannel {
    channel_id: ChannelId,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Watch {
    track_id: TrackId,
    /// An unlisted track's secret.
    secret: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Unwatch {
    track_id: TrackId,
}

/// The most tracks one session watches at once: a player shows one track's comments, a page of
/// them a few.
const WATCH_MAX: usize = 20;

#[derive(serde::Serialize)]
struct Typing {
    #[serde(with = "time::serde::rfc3339")]
    until: time::OffsetDateTime,
}

/// The RESPONSE frame for a REQUEST; a frame that is not a request closes the connection.
pub async fn answer(app: &AppState, session: &Arc<Session>, d: Option<&RawValue>) -> Result<String, Close> {
    let request: Request<'_> =
        serde_json::from_str(d.ok_or(Close::DecodeError)?.get()).map_err(|_| Close::DecodeError)?;
    if request.id.is_empty() || request.id.len() > REQUEST_ID_MAX {
        return Err(Close::DecodeError);
    }
    let result = call(app, session, &request.method, request.params).await;
    let response = match result {
        Ok(result) => Response { id: request.id, ok: true, result: Some(result), error: None },
        Err(e) => Response { id: request.id, ok: false, result: None, error: Some(e.to_problem()) },
    };
    Ok(protocol::frame(op::RESPONSE, &response))
}

fn params<'a, T: Deserialize<'a>>(raw: Option<&'a RawValue>) -> Result<T, ApiError> {
    let text = raw.map_or("null", RawValue::get);
    serde_json::from_str(text)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_params", format!("params: {e}")))
}

fn json(value: impl serde::Serialize) -> Box<RawValue> {
    serde_json::value::to_raw_value(&value).expect("wire types serialize")
}

async fn call(
    app: &AppState,
    session: &Arc<Session>,
    method: &str,
    raw: Option<&RawValue>,
) -> Result<Box<RawValue>, ApiError> {
    let me = &session.principal;
    let chat = &app.communities;
    Ok(match method {
        "message.send" => {
            let p: Send = params(raw)?;
            rate_limit::charge(app, me, RouteBucket::MessageSend).await?;
            let (message, _) =
                chat.send_message(me, p.channel_id, &p.content, p.nonce.as_deref(), p.reply_to, &[]).await?;
            json(MessageResponse::from(message))
        }
        "message.edit" => {
            let p: Edit = params(raw)?;
            json(MessageResponse::from(chat.edit_message(me, p.channel_id, p.message_id, &p.content).await?))
        }
        "message.delete" => {
            let p: OnMessage = params(raw)?;
            chat.delete_message(me, p.channel_id, p.message_id).await?;
            json(())
        }
        "reaction.add" => {
            let p: React = params(raw)?;
            chat.react(me, p.channel_id, p.message_id, &p.emoji).await?;
            json(())
        }
        "reaction.remove" => {
            let p: React = params(raw)?;
            chat.unreact(me, p.channel_id, p.message_id, &p.emoji).await?;
            json(())
        }
        "channel.ack" => {
            let p: OnMessage = params(raw)?;
            json(ReadStateResponse::from(chat.ack(me, p.channel_id, p.message_id).await?))
        }
        "presence.update" => {
            let p: SetPresenceRequest = params(raw)?;
            let track = p.activity.map(|a| a.track_id);
            json(PresenceResponse::from(chat.set_presence(me, p.status.into(), track).await?))
        }
        "typing.start" => {
            let p: InChannel = params(raw)?;
            json(Typing { until: chat.typing(me, p.channel_id).await? })
        }
        "track.watch" => {
            let p: Watch = params(raw)?;
            if p.secret.as_ref().is_some_and(|s| s.len() > crate::routes::tracks::SECRET_MAX) {
                return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_params", "params: secret is too long"));
            }
            app.social.may_watch(me, p.track_id, p.secret.as_deref()).await?;
            let hub = &app.gateway.hub;
            let watched = hub.watched(session);
            if !watched.contains(&p.track_id) && watched.len() >= WATCH_MAX {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "too_many_watched",
                    format!("a session watches at most {WATCH_MAX} tracks; unwatch one first"),
                ));
            }
            // Returns once this node hears the track: no comment posted after the answer is missed.
            hub.listen_first(session, vec![Topic::Track(p.track_id)]).await;
            json(())
        }
        "track.unwatch" => {
            let p: Unwatch = params(raw)?;
            let follow = Follow { unsubscribe: vec![Topic::Track(p.track_id)], ..Follow::default() };
            app.gateway.hub.carry_out(session, follow);
            json(())
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "unknown_method",
                "methods: message.send, message.edit, message.delete, reaction.add, reaction.remove, channel.ack, \
                 typing.start, presence.update, track.watch, track.unwatch",
            ))
        }
    })
}
