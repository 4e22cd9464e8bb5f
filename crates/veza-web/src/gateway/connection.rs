//! One WebSocket connection: HELLO, then IDENTIFY or RESUME, then dispatches out and
//! heartbeats and requests in until either side ends it. A connection is a single task: it
//! writes what its session has buffered whenever the session rings, and reads the client in
//! between, so an idle connection costs one task, its socket's buffers and its session.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use veza_core::accounts::Principal;
use veza_core::api_key::Scope;
use veza_core::audit::RequestMeta;
use veza_core::chat::event::Topic;
use veza_core::rate_limit::RouteBucket;

use crate::extract::verify_credential;
use crate::gateway::event::Envelope;
use crate::gateway::protocol::{self, op, Close, Identify, Inbound, Resume};
use crate::gateway::session::{Resumed, Session};
use crate::gateway::socket::{Incoming, ReadError, Socket};
use crate::gateway::{calls, ready, Upgraded};
use crate::middleware::rate_limit;
use crate::state::AppState;

/// Ops a client may send per window (Discord's figure: 120 a minute), heartbeats and
/// WebSocket pings included.
const OPS_PER_WINDOW: u32 = 120;
const OPS_WINDOW: Duration = Duration::from_secs(60);
/// A client whose socket takes longer than this to accept what is written is too slow.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Dispatches framed before a burst is written out: one write for many small frames, while
/// the bytes waiting at once stay bounded.
const BATCH_BYTES: usize = 64 * 1024;

struct Connection {
    socket: Socket<Upgraded>,
    window_start: Instant,
    ops: u32,
}

/// What ended the connection's wait for the next frame.
enum Read {
    Text(String),
    /// A ping or the client's close was answered: the answer waits to be flushed.
    Answered,
    /// Closed by the client, or the socket failed: nothing more to say.
    Gone,
    /// Close with this code.
    Close(Close),
}

impl Connection {
    async fn send(&mut self, text: String) -> bool {
        self.socket.queue_text(&text);
        self.flush().await
    }

    /// Writes what is queued within the write timeout.
    async fn flush(&mut self) -> bool {
        matches!(tokio::time::timeout(WRITE_TIMEOUT, self.socket.flush()).await, Ok(Ok(())))
    }

    async fn close(&mut self, close: Close) {
        self.socket.queue_close(close.code(), close.reason());
        let _ = tokio::time::timeout(WRITE_TIMEOUT, self.socket.shutdown()).await;
    }

    /// The next text frame or answered control frame, counted against the op limit.
    /// Cancel-safe, as [`Socket::recv`].
    async fn read(&mut self) -> Read {
        let incoming = match self.socket.recv().await {
            Ok(incoming) => incoming,
            Err(ReadError::Gone) => return Read::Gone,
            Err(ReadError::TooBig) => return Read::Close(Close::MessageTooBig),
            Err(ReadError::Protocol) => return Read::Close(Close::ProtocolError),
            Err(ReadError::NotUtf8) => return Read::Close(Close::InvalidPayload),
            Err(ReadError::Binary) => return Read::Close(Close::DecodeError),
        };
        if self.window_start.elapsed() > OPS_WINDOW {
            self.window_start = Instant::now();
            self.ops = 0;
        }
        self.ops += 1;
        if self.ops > OPS_PER_WINDOW {
            return Read::Close(Close::RateLimited);
        }
        match incoming {
            Incoming::Text(text) => Read::Text(text),
            Incoming::Answered => Read::Answered,
        }
    }

    /// Writes dispatches, in order, within the write timeout; gives up as soon as the session
    /// says the connection must close (its unwritten dispatches passed the outbound limit).
    async fn write(&mut self, frames: &[(u64, Arc<Envelope>)], session: &Session) -> bool {
        let socket = &mut self.socket;
        let all = async {
            for (seq, envelope) in frames {
                socket.queue_text(&protocol::dispatch(*seq, &envelope.name, &envelope.data));
                if socket.queued() >= BATCH_BYTES {
                    socket.flush().await?;
                }
            }
            socket.flush().await
        };
        tokio::select! {
            written = tokio::time::timeout(WRITE_TIMEOUT, all) => matches!(written, Ok(Ok(()))),
            () = session.closing() => false,
        }
    }
}

#[derive(Serialize)]
struct Hello {
    /// Milliseconds between the client's heartbeats.
    heartbeat_interval: u64,
}

/// Runs a connection to its end.
pub async fn run(socket: Socket<Upgraded>, app: AppState, meta: RequestMeta) {
    let mut conn = Connection { socket, window_start: Instant::now(), ops: 0 };
    let interval = app.gateway.config.heartbeat_interval;
    let hello = Hello { heartbeat_interval: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX) };
    if !conn.send(protocol::frame(op::HELLO, &hello)).await {
        return;
    }
    // Boxed, as the requests below: a task's future is as large as its largest state, and
    // an idle connection should not reserve room for building READY or sending a message.
    let (session, connection) = match Box::pin(handshake(&mut conn, &app, meta)).await {
        Ok(Some(attached)) => attached,
        Ok(None) => return,
        Err(close) => return conn.close(close).await,
    };
    // Presence counts connections, not sessions: a dropped connection is offline until it
    // resumes. A store that cannot record it costs presence, not the connection.
    let lease = format!("{}:{connection}", session.id);
    if let Err(e) = Box::pin(app.communities.connected(session.me(), &lease, &app.gateway.hub.node)).await {
        tracing::warn!(error = %e, "cannot record a connection's presence");
    }
    let end = live(&mut conn, &app, &session, connection).await;
    session.detach(connection);
    if let Some(close) = end {
        conn.close(close).await;
    }
    if let Err(e) = Box::pin(app.communities.disconnected(session.me(), &lease)).await {
        tracing::warn!(error = %e, "cannot record that a connection closed");
    }
}

/// Waits for IDENTIFY or RESUME: the attached session, `None` when the client left first.
async fn handshake(
    conn: &mut Connection,
    app: &AppState,
    meta: RequestMeta,
) -> Result<Option<(Arc<Session>, u64)>, Close> {
    let deadline = tokio::time::Instant::now() + app.gateway.config.heartbeat_interval;
    loop {
        let read = tokio::select! {
            read = conn.read() => read,
            () = tokio::time::sleep_until(deadline) => Read::Close(Close::NotAuthenticated),
        };
        let text = match read {
            Read::Text(text) => text,
            Read::Answered if conn.flush().await => continue,
            Read::Answered | Read::Gone => return Ok(None),
            Read::Close(close) => return Err(close),
        };
        let frame: Inbound<'_> = serde_json::from_str(&text).map_err(|_| Close::DecodeError)?;
        match frame.op {
            op::HEARTBEAT => {
                if !conn.send(protocol::frame(op::HEARTBEAT_ACK, &())).await {
                    return Ok(None);
                }
            }
            op::IDENTIFY => {
                let identify: Identify = payload(frame.d)?;
                let principal = authenticate(app, &identify.token, &meta).await?;
                return identify_session(app, principal, identify.large_threshold()).await.map(Some);
            }
            op::RESUME => {
                let resume: Resume = payload(frame.d)?;
                let principal = authenticate(app, &resume.token, &meta).await?;
                match resume_session(app, &principal, &resume)? {
                    Some(attached) => return Ok(Some(attached)),
                    // Gone, someone else's, or too far behind: the client identifies anew.
                    None => {
                        if !conn.send(protocol::frame(op::INVALID_SESSION, &false)).await {
                            return Ok(None);
                        }
                    }
                }
            }
            op::REQUEST => return Err(Close::NotAuthenticated),
            _ => return Err(Close::UnknownOpcode),
        }
    }
}

fn payload<'a, T: serde::Deserialize<'a>>(d: Option<&'a serde_json::value::RawValue>) -> Result<T, Close> {
    serde_json::from_str(d.ok_or(Close::DecodeError)?.get()).map_err(|_| Close::DecodeError)
}

/// An access token, or an API key with `chat:read`.
async fn authenticate(app: &AppState, token: &str, meta: &RequestMeta) -> Result<Principal, Close> {
    let verified = verify_credential(app, token, || meta.clone()).await.map_err(|_| Close::AuthenticationFailed)?;
    let principal = &verified.principal;
    principal.require(Scope::ChatRead).map_err(|_| Close::AuthenticationFailed)?;
    signed_in(app, principal).await?;
    // Each account's connections count too, wherever they come from.
    rate_limit::charge(app, principal, RouteBucket::GatewayConnect).await.map_err(|_| Close::RateLimited)?;
    // Admitted: an API key's use is recorded now, not for connections the limit refused.
    verified.admit(app).await.map_err(|_| Close::UnknownError)
}

async fn identify_session(
    app: &AppState,
    principal: Principal,
    large_threshold: u64,
) -> Result<(Arc<Session>, u64), Close> {
    let id: Arc<str> = uuid::Uuid::new_v4().simple().to_string().into();
    let session = Arc::new(Session::new(id, principal));
    let hub = &app.gateway.hub;
    // Listen before looking: the session's own topic, then each of its communities', in effect
    // on the bus before the state READY describes is read, and everything that comes holds
    // until the session starts and is then judged against what READY said.
    hub.register(session.clone());
    let built = async {
        hub.subscriptions_applied().await;
        // A sign-out announced before the person's topic was live was not heard: ask once more.
        if signed_in(app, &session.principal).await.is_err() {
            return Ok(None);
        }
        let mine = app.communities.mine(&session.principal).await?;
        let listened: Vec<_> = mine.iter().map(|c| c.id).collect();
        hub.listen_first(&session, listened.iter().map(|c| Topic::Community(*c)).collect()).await;
        let (visible, ready) = ready::build(app, &session, mine, large_threshold).await?;
        Ok::<_, veza_core::CoreError>(Some((listened, visible, ready)))
    };
    let (listened, visible, ready) = match built.await {
        Ok(Some(built)) => built,
        Ok(None) => {
            hub.remove(&session);
            return Err(Close::AuthenticationFailed);
        }
        Err(e) => {
            tracing::warn!(error = ?e, "cannot build READY");
            hub.remove(&session);
            return Err(Close::UnknownError);
        }
    };
    if let Some(pause) = &app.gateway.config.test_pause {
        pause.hold(session.me()).await;
    }
    // Communities READY left out (gone while it was read) are not listened to any more.
    let skipped: Vec<_> =
        listened.into_iter().filter(|c| !visible.iter().any(|(v, _)| v == c)).map(Topic::Community).collect();
    let (connection, mut follow) = session.start(visible, Arc::new(ready));
    follow.unsubscribe.extend(skipped);
    hub.carry_out(&session, follow);
    Ok((session, connection))
}

/// `None` when the client must identify anew.
fn resume_session(
    app: &AppState,
    principal: &Principal,
    resume: &Resume,
) -> Result<Option<(Arc<Session>, u64)>, Close> {
    let Some(session) = app.gateway.hub.session(&resume.session_id) else { return Ok(None) };
    // Another person's session id is as good as an unknown one.
    if session.me() != principal.user_id {
        return Ok(None);
    }
    match session.resume(resume.seq) {
        Resumed::Attached(connection) => {
            session.push_own(Envelope::plain("RESUMED", "{}"));
            Ok(Some((session, connection)))
        }
        Resumed::Invalid => Ok(None),
        Resumed::BadSeq => Err(Close::InvalidSeq),
    }
}

/// Whether the credential still stands: the account enabled, the session or key not revoked.
/// A store that cannot answer right now does not end anyone's connection.
async fn signed_in(app: &AppState, principal: &Principal) -> Result<(), Close> {
    match app.accounts.still_signed_in(principal).await {
        Ok(()) | Err(veza_core::CoreError::Unavailable(_)) => Ok(()),
        Err(_) => Err(Close::AuthenticationFailed),
    }
}

/// Heartbeats may come this much later than the interval (network jitter).
fn heartbeat_grace(interval: Duration) -> Duration {
    interval + interval / 2
}

/// The identified connection: writes what the session buffers, reads heartbeats and requests.
/// Returns how to close, or `None` when the client is already gone.
async fn live(conn: &mut Connection, app: &AppState, session: &Arc<Session>, connection: u64) -> Option<Close> {
    let grace = heartbeat_grace(app.gateway.config.heartbeat_interval);
    let mut heartbeat_due = tokio::time::Instant::now() + grace;
    loop {
        match session.to_write(connection) {
            Ok(frames) if frames.is_empty() => {}
            Ok(frames) => {
                if !conn.write(&frames, session).await {
                    return Some(session.close_reason().unwrap_or(Close::SlowConsumer));
                }
                continue;
            }
            Err(close) => return Some(close),
        }
        let read = tokio::select! {
            biased;
            () = session.wake.notified() => continue,
            () = tokio::time::sleep_until(heartbeat_due) => return Some(Close::SessionTimedOut),
            read = conn.read() => read,
        };
        let text = match read {
            Read::Text(text) => text,
            Read::Answered if conn.flush().await => continue,
            Read::Answered | Read::Gone => return None,
            Read::Close(close) => return Some(close),
        };
        let Ok(frame) = serde_json::from_str::<Inbound<'_>>(&text) else { return Some(Close::DecodeError) };
        let reply = match frame.op {
            op::HEARTBEAT => {
                let seq: Option<u64> = match frame.d {
                    Some(d) => match serde_json::from_str(d.get()) {
                        Ok(seq) => seq,
                        Err(_) => return Some(Close::DecodeError),
                    },
                    None => None,
                };
                if let Some(seq) = seq {
                    session.acknowledge(seq);
                }
                // Sign-outs close sessions as they are announced; this check, at the first
                // heartbeat and then every few minutes, catches one that was not (a publish that
                // failed, the command line's disable on a single node).
                if session.sign_in_due(app.gateway.config.sign_in_recheck) {
                    if let Err(close) = signed_in(app, &session.principal).await {
                        session.invalidate(close);
                        return Some(close);
                    }
                    session.sign_in_checked();
                }
                heartbeat_due = tokio::time::Instant::now() + grace;
                protocol::frame(op::HEARTBEAT_ACK, &())
            }
            op::REQUEST => match Box::pin(calls::answer(app, session, frame.d)).await {
                Ok(reply) => reply,
                Err(close) => return Some(close),
            },
            op::IDENTIFY | op::RESUME => return Some(Close::AlreadyAuthenticated),
            _ => return Some(Close::UnknownOpcode),
        };
        if !conn.send(reply).await {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of the future `f` returns, without calling it.
    fn future_size<A, B, C, F: std::future::Future>(_: impl FnOnce(A, B, C) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// Every connection's task holds this future for its whole life: what its idle state
    /// holds is paid once per client (with 10,000 clients, each 100 bytes is a megabyte).
    #[test]
    fn a_connections_task_stays_small() {
        let size = future_size(run);
        assert!(size <= 1536, "the connection future is {size} bytes");
    }
}
