//! The yardstick: a bare tokio WebSocket broadcast server speaking just enough of the gateway
//! protocol for the load generator (HELLO, IDENTIFY with `room:N` as the token, READY,
//! HEARTBEAT_ACK, REQUEST `message.send` → RESPONSE, and MESSAGE_CREATE to every member of the
//! room with a per-connection sequence number). No persistence, no permissions, no resume: the
//! floor of what delivering a message costs on this machine. Sized like the gateway (4 KiB
//! socket buffers, a bounded outbound queue per connection).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

/// Frames waiting for a slow reader before it is dropped (as the gateway does).
const OUTBOUND: usize = 256;

type Rooms = Arc<Mutex<HashMap<String, Vec<mpsc::Sender<Arc<str>>>>>>;

pub async fn serve(addr: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("bare gateway listening on http://{}", listener.local_addr()?);
    let rooms: Rooms = Arc::default();
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(stream, rooms.clone()));
    }
}

async fn connection(stream: TcpStream, rooms: Rooms) {
    let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(4096);
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else { return };
    let hello = json!({"op": 10, "d": {"heartbeat_interval": 41250}}).to_string();
    if ws.send(Message::Text(hello.into())).await.is_err() {
        return;
    }
    let (to_me, mut outbound) = mpsc::channel::<Arc<str>>(OUTBOUND);
    let mut room: Option<String> = None;
    let mut seq = 0u64;
    loop {
        tokio::select! {
            frame = outbound.recv() => {
                let Some(frame) = frame else { return };
                seq += 1;
                let text = format!("{{\"op\":0,\"s\":{seq},{}", &frame[1..]);
                if ws.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
            message = ws.next() => {
                let Some(Ok(Message::Text(text))) = message else { return };
                let Ok(frame) = serde_json::from_str::<Value>(&text) else { return };
                match frame["op"].as_u64() {
                    Some(1) => {
                        let _ = ws.send(Message::Text(r#"{"op":11,"d":null}"#.into())).await;
                    }
                    Some(2) => {
                        let Some(name) = frame["d"]["token"].as_str().and_then(|t| t.strip_prefix("room:")) else { return };
                        rooms.lock().expect("rooms").entry(name.to_string()).or_default().push(to_me.clone());
                        room = Some(name.to_string());
                        seq += 1;
                        let ready = format!("{{\"op\":0,\"s\":{seq},\"t\":\"READY\",\"d\":{{}}}}");
                        if ws.send(Message::Text(ready.into())).await.is_err() {
                            return;
                        }
                    }
                    Some(8) => {
                        let d = &frame["d"];
                        let content = d["params"]["content"].as_str().unwrap_or_default();
                        let event: Arc<str> = json!({"t": "MESSAGE_CREATE", "d": {"content": content, "channel_id": d["params"]["channel_id"]}}).to_string().into();
                        let members = room.as_ref().and_then(|r| rooms.lock().expect("rooms").get(r).cloned()).unwrap_or_default();
                        for member in members {
                            // A full queue is a slow consumer: its frame is dropped, as the
                            // gateway would disconnect it.
                            let _ = member.try_send(event.clone());
                        }
                        let response = json!({"op": 12, "d": {"id": d["id"], "ok": true, "result": {"content": content}}});
                        if ws.send(Message::Text(response.to_string().into())).await.is_err() {
                            return;
                        }
                    }
                    _ => return,
                }
            }
        }
    }
}
