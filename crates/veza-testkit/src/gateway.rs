//! A gateway client for tests: a real WebSocket to a running Veza, with helpers to identify,
//! resume, heartbeat and wait for dispatches. Every wait has a deadline, so a missing event
//! fails the test instead of hanging it.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
pub use tokio_tungstenite::tungstenite::protocol::frame;
pub use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for a frame that should come.
pub const WAIT: Duration = Duration::from_secs(10);

/// What the server sent next.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Json(Value),
    /// The server closed the connection with this code.
    Closed(u16),
}

#[derive(Debug)]
pub struct GatewayClient {
    pub socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The last dispatch sequence number seen.
    pub seq: u64,
    pub heartbeat_interval: u64,
    /// `PRESENCE_UPDATE`s come whenever anyone's connections change, so unless a test watches
    /// for them they are set aside here (still numbered) instead of returned.
    pub presences: Vec<Value>,
    pub watch_presence: bool,
}

impl GatewayClient {
    /// Connects to `{base}/gateway` (base `http://…`) and reads HELLO.
    pub async fn connect(base: &str) -> Self {
        Self::connect_with(base, None).await.expect("gateway upgrade")
    }

    /// Connects with an `Origin` header; `Err(status)` when the upgrade is refused.
    pub async fn connect_with(base: &str, origin: Option<&str>) -> Result<Self, u16> {
        match origin {
            Some(origin) => Self::connect_with_headers(base, &[("origin", origin)]).await,
            None => Self::connect_with_headers(base, &[]).await,
        }
    }

    /// Connects and sends IDENTIFY at once, before HELLO is read, then reads HELLO: the frame
    /// is already waiting when the server starts its identify deadline, however slowly this
    /// process runs (for servers with a short heartbeat interval). READY is still to come.
    pub async fn connect_identifying(base: &str, token: &str) -> Self {
        Self::connect_sending(base, &[], Some(json!({"op": 2, "d": {"token": token}}))).await.expect("gateway upgrade")
    }

    /// Connects with extra upgrade headers; `Err(status)` when the upgrade is refused.
    pub async fn connect_with_headers(base: &str, headers: &[(&'static str, &str)]) -> Result<Self, u16> {
        Self::connect_sending(base, headers, None).await
    }

    async fn connect_sending(base: &str, headers: &[(&'static str, &str)], first: Option<Value>) -> Result<Self, u16> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("{}/gateway", base.replacen("http", "ws", 1));
        let mut request = url.into_client_request().expect("request");
        for (name, value) in headers {
            request.headers_mut().insert(*name, value.parse().expect("header value"));
        }
        let socket = match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => socket,
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => return Err(response.status().as_u16()),
            Err(e) => panic!("gateway connect: {e}"),
        };
        let mut client = Self { socket, seq: 0, heartbeat_interval: 0, presences: Vec::new(), watch_presence: false };
        if let Some(first) = first {
            client.send(first).await;
        }
        let hello = client.next().await;
        let Frame::Json(hello) = hello else { panic!("expected HELLO, got {hello:?}") };
        assert_eq!(hello["op"], 10, "{hello}");
        client.heartbeat_interval = hello["d"]["heartbeat_interval"].as_u64().expect("interval");
        Ok(client)
    }

    /// The next JSON frame or the close, skipping pings; panics after [`WAIT`].
    pub async fn next(&mut self) -> Frame {
        self.next_within(WAIT).await.unwrap_or_else(|| panic!("no frame within {WAIT:?}"))
    }

    /// `None` when nothing came within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Frame> {
        loop {
            let message = match tokio::time::timeout(wait, self.socket.next()).await {
                Err(_) => return None,
                Ok(None) => return Some(Frame::Closed(1006)),
                Ok(Some(Err(_))) => return Some(Frame::Closed(1006)),
                Ok(Some(Ok(message))) => message,
            };
            match message {
                Message::Text(text) => {
                    let value: Value = serde_json::from_str(&text).expect("server frames are JSON");
                    if let Some(seq) = value["s"].as_u64() {
                        assert_eq!(seq, self.seq + 1, "dispatches are numbered without gaps: {value}");
                        self.seq = seq;
                    }
                    if !self.watch_presence && value["t"] == "PRESENCE_UPDATE" {
                        self.presences.push(value["d"].clone());
                        continue;
                    }
                    return Some(Frame::Json(value));
                }
                Message::Close(frame) => return Some(Frame::Closed(frame.map_or(1005, |f| u16::from(f.code)))),
                Message::Binary(_) => panic!("the server sends text frames only"),
                _ => continue,
            }
        }
    }

    /// Waits for the dispatch named `name`, returning its `d`, and every dispatch before it.
    pub async fn until(&mut self, name: &str) -> (Value, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            match self.next().await {
                Frame::Json(v) if v["op"] == 0 && v["t"] == name => return (v["d"].clone(), before),
                Frame::Json(v) if v["op"] == 0 => before.push(v),
                Frame::Json(_) => {}
                Frame::Closed(code) => panic!("closed ({code}) while waiting for {name}; got {before:?}"),
            }
        }
    }

    /// The close code the server ends with, skipping anything before it.
    pub async fn closed(&mut self) -> u16 {
        loop {
            if let Frame::Closed(code) = self.next().await {
                return code;
            }
        }
    }

    pub async fn send(&mut self, value: Value) {
        self.socket.send(Message::Text(value.to_string().into())).await.expect("send");
    }

    /// The next WebSocket message as it came (pings and pongs included); panics after [`WAIT`].
    pub async fn next_message(&mut self) -> Option<Message> {
        let next = tokio::time::timeout(WAIT, self.socket.next()).await;
        next.unwrap_or_else(|_| panic!("no message within {WAIT:?}")).and_then(Result::ok)
    }

    pub async fn send_raw(&mut self, message: Message) {
        // The server may already have closed; that is what such tests look for.
        let _ = self.socket.send(message).await;
    }

    /// IDENTIFY, then READY's `d`.
    pub async fn identify(&mut self, token: &str) -> Value {
        self.send(json!({"op": 2, "d": {"token": token}})).await;
        self.until("READY").await.0
    }

    pub async fn heartbeat(&mut self) {
        let seq = self.seq;
        self.send(json!({"op": 1, "d": seq})).await;
    }

    /// A REQUEST and its RESPONSE's `d`, passing over dispatches that come first.
    pub async fn request(&mut self, id: &str, method: &str, params: Value) -> Value {
        self.send(json!({"op": 8, "d": {"id": id, "method": method, "params": params}})).await;
        loop {
            match self.next().await {
                Frame::Json(v) if v["op"] == 12 && v["d"]["id"] == id => return v["d"].clone(),
                Frame::Json(_) => {}
                Frame::Closed(code) => panic!("closed ({code}) while waiting for the answer to {method}"),
            }
        }
    }
}

/// The test side of the server's pause point (`VEZA_TEST_GATEWAY_PAUSE`): every identifying
/// session stops after READY's state is read and before it starts, until the test releases it.
#[derive(Debug)]
pub struct PauseGate {
    pub addr: std::net::SocketAddr,
    listener: tokio::net::TcpListener,
}

/// A session held at the pause point; released when dropped.
#[derive(Debug)]
pub struct Paused {
    pub user_id: String,
    _gate: TcpStream,
}

impl PauseGate {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the pause gate");
        Self { addr: listener.local_addr().expect("gate address"), listener }
    }

    /// The next session to reach the pause point.
    pub async fn next(&self) -> Paused {
        use tokio::io::AsyncBufReadExt;
        let (stream, _) = tokio::time::timeout(WAIT, self.listener.accept())
            .await
            .expect("no session reached the pause point")
            .expect("accept");
        let mut reader = tokio::io::BufReader::new(stream);
        let mut line = String::new();
        tokio::time::timeout(WAIT, reader.read_line(&mut line)).await.expect("the session names itself").expect("read");
        Paused { user_id: line.trim().to_string(), _gate: reader.into_inner() }
    }
}

impl Paused {
    /// Lets the session go on.
    pub fn release(self) {}
}
