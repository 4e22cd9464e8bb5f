//! The gateway's WebSocket framing (RFC 6455, server side, no extensions), written for the
//! case that dominates a chat gateway: thousands of connections that are idle almost all the
//! time. An idle connection holds no buffer at all. Reads go through a buffer on the stack of
//! the poll that reads, and only the bytes of a frame not yet complete are kept; writes are
//! framed into a buffer that lives until it is sent. (tungstenite, under axum's WebSocket,
//! keeps a read buffer per connection and a write buffer that stays at the largest size a
//! frame ever gave it: 2.9 KiB of an idle connection's 11.6, measured in BENCHMARKS.md.)
//!
//! Reading is cancel-safe: bytes read are kept in the same poll that reads them, so a
//! `select!` may drop [`Socket::recv`] at any await. Answers to pings and closes are queued, and
//! [`Socket::recv`] says so; the caller sends them with [`Socket::flush`] outside its `select!`.

use std::io;
use std::mem::MaybeUninit;
use std::task::Poll;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

/// Bytes one read takes from the socket at most, on the reading poll's stack.
const READ_CHUNK: usize = 4096;
/// Past this, a buffer emptied by a write or a parse is given back rather than kept for the
/// next one: what a connection keeps between frames stays small.
const KEEP: usize = 1024;

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// What a client sent.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A whole text message, its fragments joined.
    Text(String),
    /// A ping or a close was answered in the queue: send it with [`Socket::flush`]. After a
    /// close, nothing more comes (`recv` says [`ReadError::Gone`]).
    Answered,
}

/// Why reading stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadError {
    /// The client closed, the connection broke, or it ended.
    Gone,
    /// A frame or message past the size limit (close with 1009).
    TooBig,
    /// Framing that breaks RFC 6455: unmasked, reserved bits or opcodes, a control frame
    /// fragmented or over 125 bytes, a continuation of nothing (close with 1002).
    Protocol,
    /// A text message that is not UTF-8 (close with 1007).
    NotUtf8,
    /// A binary message: the gateway speaks JSON text only.
    Binary,
}

/// One upgraded connection.
#[derive(Debug)]
pub struct Socket<S> {
    io: S,
    /// The largest message (and frame) a client may send, in bytes.
    max_message: usize,
    /// Bytes read past the last whole frame.
    read: Vec<u8>,
    /// A text message whose first fragments came, waiting for the rest.
    partial: Option<Vec<u8>>,
    /// Framed bytes waiting to be written, and how many of them are written.
    out: Vec<u8>,
    sent: usize,
    /// The client's close came: nothing more is read.
    peer_closed: bool,
}

/// One frame, unmasked.
struct Frame {
    fin: bool,
    opcode: u8,
    payload: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Socket<S> {
    pub fn new(io: S, max_message: usize) -> Self {
        Self { io, max_message, read: Vec::new(), partial: None, out: Vec::new(), sent: 0, peer_closed: false }
    }

    /// The next text message, or an answer to send. Cancel-safe.
    pub async fn recv(&mut self) -> Result<Incoming, ReadError> {
        loop {
            if self.peer_closed {
                return Err(ReadError::Gone);
            }
            while let Some(frame) = self.parse()? {
                if let Some(incoming) = self.handle(frame)? {
                    return Ok(incoming);
                }
            }
            if self.fill().await.map_err(|_| ReadError::Gone)? == 0 {
                return Err(ReadError::Gone);
            }
        }
    }

    /// Queues a text message, framed, for the next [`Socket::flush`].
    pub fn queue_text(&mut self, text: &str) {
        self.queue(OP_TEXT, text.as_bytes());
    }

    /// Queues a close frame; nothing should be queued after it.
    pub fn queue_close(&mut self, code: u16, reason: &str) {
        let mut payload = code.to_be_bytes().to_vec();
        // A control frame's payload is at most 125 bytes: the code and 123 of reason.
        let mut end = reason.len().min(123);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        payload.extend_from_slice(&reason.as_bytes()[..end]);
        self.queue(OP_CLOSE, &payload);
    }

    /// Bytes queued and not yet written.
    pub fn queued(&self) -> usize {
        self.out.len() - self.sent
    }

    /// Writes everything queued. Cancel-safe: what a cancelled write did not send is sent by
    /// the next flush.
    pub async fn flush(&mut self) -> io::Result<()> {
        while self.sent < self.out.len() {
            let n = self.io.write(&self.out[self.sent..]).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            self.sent += n;
        }
        self.io.flush().await?;
        self.sent = 0;
        if self.out.capacity() > KEEP {
            self.out = Vec::new();
        } else {
            self.out.clear();
        }
        Ok(())
    }

    /// Ends the write side after what is queued (a close frame, normally).
    pub async fn shutdown(&mut self) -> io::Result<()> {
        self.flush().await?;
        self.io.shutdown().await
    }

    fn queue(&mut self, opcode: u8, payload: &[u8]) {
        let len = payload.len();
        self.out.reserve(len + 10);
        self.out.push(0x80 | opcode);
        match len {
            0..=125 => self.out.push(len as u8),
            126..=0xFFFF => {
                self.out.push(126);
                self.out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                self.out.push(127);
                self.out.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        self.out.extend_from_slice(payload);
    }

    /// Reads what the socket has (one chunk at most) after the bytes kept; 0 at its end.
    async fn fill(&mut self) -> io::Result<usize> {
        std::future::poll_fn(|cx| {
            let mut chunk = [MaybeUninit::<u8>::uninit(); READ_CHUNK];
            let mut buf = ReadBuf::uninit(&mut chunk);
            match std::pin::Pin::new(&mut self.io).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) => {
                    self.read.extend_from_slice(buf.filled());
                    Poll::Ready(Ok(buf.filled().len()))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }

    /// The next whole frame among the bytes read, if one is there.
    fn parse(&mut self) -> Result<Option<Frame>, ReadError> {
        let b = &self.read;
        if b.len() < 2 {
            return Ok(None);
        }
        let (fin, rsv, opcode) = (b[0] & 0x80 != 0, b[0] & 0x70, b[0] & 0x0F);
        let (masked, short) = (b[1] & 0x80 != 0, b[1] & 0x7F);
        // No extension was negotiated, and a client masks every frame (RFC 6455 §5.1, §5.2).
        if rsv != 0 || !masked || !matches!(opcode, 0x0..=0x2 | 0x8..=0xA) {
            return Err(ReadError::Protocol);
        }
        let (len, at) = match short {
            126 if b.len() >= 4 => (u64::from(u16::from_be_bytes([b[2], b[3]])), 4),
            127 if b.len() >= 10 => (u64::from_be_bytes(b[2..10].try_into().expect("8 bytes")), 10),
            126 | 127 => return Ok(None),
            n => (u64::from(n), 2),
        };
        if opcode >= OP_CLOSE && (!fin || len > 125) {
            return Err(ReadError::Protocol);
        }
        // Refused from its header, before its payload is read into memory.
        let len = usize::try_from(len).ok().filter(|l| *l <= self.max_message).ok_or(ReadError::TooBig)?;
        let start = at + 4;
        if b.len() < start + len {
            return Ok(None);
        }
        let mask = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        let payload: Vec<u8> = b[start..start + len].iter().enumerate().map(|(i, byte)| byte ^ mask[i % 4]).collect();
        self.read.drain(..start + len);
        if self.read.is_empty() && self.read.capacity() > KEEP {
            self.read = Vec::new();
        }
        Ok(Some(Frame { fin, opcode, payload }))
    }

    /// What a frame means for the reader: a message, an answer queued, or nothing yet.
    fn handle(&mut self, frame: Frame) -> Result<Option<Incoming>, ReadError> {
        match frame.opcode {
            OP_PING => {
                self.queue(OP_PONG, &frame.payload);
                Ok(Some(Incoming::Answered))
            }
            OP_PONG => Ok(None),
            OP_CLOSE => {
                // The close is answered with the client's code (RFC 6455 §5.5.1); one that
                // carries a single byte is malformed.
                if frame.payload.len() == 1 {
                    return Err(ReadError::Protocol);
                }
                self.peer_closed = true;
                let code = frame.payload.get(..2).map_or(1000, |c| u16::from_be_bytes([c[0], c[1]]));
                self.queue_close(code, "");
                Ok(Some(Incoming::Answered))
            }
            OP_BINARY => Err(ReadError::Binary),
            OP_TEXT if self.partial.is_some() => Err(ReadError::Protocol),
            OP_TEXT if frame.fin => text(frame.payload).map(Some),
            OP_TEXT => {
                self.partial = Some(frame.payload);
                Ok(None)
            }
            OP_CONTINUATION => {
                let Some(mut message) = self.partial.take() else { return Err(ReadError::Protocol) };
                if message.len() + frame.payload.len() > self.max_message {
                    return Err(ReadError::TooBig);
                }
                message.extend_from_slice(&frame.payload);
                if frame.fin {
                    return text(message).map(Some);
                }
                self.partial = Some(message);
                Ok(None)
            }
            _ => Err(ReadError::Protocol),
        }
    }
}

fn text(bytes: Vec<u8>) -> Result<Incoming, ReadError> {
    String::from_utf8(bytes).map(Incoming::Text).map_err(|_| ReadError::NotUtf8)
}

/// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key` (RFC 6455 §4.2.2).
pub fn accept_key(key: &[u8]) -> String {
    use base64::Engine;
    use sha1::Digest;
    const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    let digest = sha1::Sha1::new().chain_update(key).chain_update(GUID).finalize();
    base64::engine::general_purpose::STANDARD.encode(digest)
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, DuplexStream};

    use super::*;

    /// A client's frame: masked, as clients must.
    fn client_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [0x12, 0x34, 0x56, 0x78];
        let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
        match payload.len() {
            n @ 0..=125 => out.push(0x80 | n as u8),
            n @ 126..=0xFFFF => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        out
    }

    fn pair() -> (Socket<DuplexStream>, DuplexStream) {
        let (server, client) = tokio::io::duplex(256 * 1024);
        (Socket::new(server, 64 * 1024), client)
    }

    /// Reads one unmasked server frame: its opcode and payload.
    async fn server_frame(client: &mut DuplexStream) -> (u8, Vec<u8>) {
        let mut head = [0u8; 2];
        client.read_exact(&mut head).await.expect("header");
        assert_eq!(head[0] & 0xF0, 0x80, "a single final frame, no reserved bits");
        assert_eq!(head[1] & 0x80, 0, "servers do not mask");
        let len = match head[1] & 0x7F {
            126 => usize::from(client.read_u16().await.expect("len")),
            127 => usize::try_from(client.read_u64().await.expect("len")).expect("fits"),
            n => usize::from(n),
        };
        let mut payload = vec![0; len];
        client.read_exact(&mut payload).await.expect("payload");
        (head[0] & 0x0F, payload)
    }

    #[tokio::test]
    async fn messages_arrive_whole_however_the_bytes_are_cut() {
        let (mut socket, mut client) = pair();
        // 60,000 bytes of two-byte characters: a 16-bit length, read over many chunks.
        let long = "é".repeat(30_000);
        let long = long.as_str();
        let mut bytes = client_frame(true, OP_TEXT, b"{\"op\":1}");
        bytes.extend(client_frame(true, OP_TEXT, long.as_bytes()));
        bytes.extend(client_frame(false, OP_TEXT, b"frag"));
        bytes.extend(client_frame(true, OP_PONG, b"between fragments"));
        bytes.extend(client_frame(false, OP_CONTINUATION, b"men"));
        bytes.extend(client_frame(true, OP_CONTINUATION, b"ted"));
        let writer = tokio::spawn(async move {
            // One byte at a time for the first frames, then the rest at once.
            for b in &bytes[..20] {
                client.write_all(&[*b]).await.expect("write");
            }
            client.write_all(&bytes[20..]).await.expect("write");
            client
        });
        assert_eq!(socket.recv().await, Ok(Incoming::Text("{\"op\":1}".into())));
        assert_eq!(socket.recv().await, Ok(Incoming::Text(long.to_string())));
        assert_eq!(socket.recv().await, Ok(Incoming::Text("fragmented".into())));
        assert!(socket.read.capacity() <= KEEP, "nothing large is kept between messages");
        let client = writer.await.expect("writer");
        drop(client);
        assert_eq!(socket.recv().await, Err(ReadError::Gone));
    }

    #[tokio::test]
    async fn pings_are_answered_and_a_close_is_returned() {
        let (mut socket, mut client) = pair();
        client.write_all(&client_frame(true, OP_PING, b"are you there")).await.expect("write");
        assert_eq!(socket.recv().await, Ok(Incoming::Answered));
        socket.flush().await.expect("flush");
        assert_eq!(server_frame(&mut client).await, (OP_PONG, b"are you there".to_vec()));
        client.write_all(&client_frame(true, OP_CLOSE, &1001u16.to_be_bytes())).await.expect("write");
        assert_eq!(socket.recv().await, Ok(Incoming::Answered));
        socket.shutdown().await.expect("shutdown");
        assert_eq!(server_frame(&mut client).await, (OP_CLOSE, 1001u16.to_be_bytes().to_vec()));
        assert_eq!(socket.recv().await, Err(ReadError::Gone), "nothing is read after a close");
    }

    #[tokio::test]
    async fn written_frames_carry_their_length_in_the_shortest_form() {
        let (mut socket, mut client) = pair();
        for len in [0, 125, 126, 65_535, 65_536] {
            socket.queue_text(&"x".repeat(len));
        }
        socket.queue_close(4002, &"é".repeat(100));
        socket.flush().await.expect("flush");
        assert_eq!(socket.queued(), 0);
        assert_eq!(socket.out.capacity(), 0, "a large write gives its buffer back");
        for len in [0, 125, 126, 65_535, 65_536] {
            assert_eq!(server_frame(&mut client).await, (OP_TEXT, vec![b'x'; len]));
        }
        let (op, payload) = server_frame(&mut client).await;
        assert_eq!((op, &payload[..2]), (OP_CLOSE, &4002u16.to_be_bytes()[..]));
        assert!(payload.len() <= 125 && std::str::from_utf8(&payload[2..]).is_ok(), "cut at a character");
    }

    #[tokio::test]
    async fn frames_that_break_the_rules_are_refused() {
        let unmasked = {
            let mut f = client_frame(true, OP_TEXT, b"hi");
            f[1] &= 0x7F;
            f.drain(2..6);
            f
        };
        let reserved = {
            let mut f = client_frame(true, OP_TEXT, b"hi");
            f[0] |= 0x40;
            f
        };
        let huge_header = {
            // Only the header of a 1 GiB frame: refused without waiting for its payload.
            let mut f = vec![0x81, 0x80 | 127];
            f.extend_from_slice(&(1u64 << 30).to_be_bytes());
            f
        };
        let mut too_long_in_pieces = client_frame(false, OP_TEXT, &[b'a'; 40_000]);
        too_long_in_pieces.extend(client_frame(true, OP_CONTINUATION, &[b'a'; 40_000]));
        let cases: Vec<(Vec<u8>, ReadError)> = vec![
            (unmasked, ReadError::Protocol),
            (reserved, ReadError::Protocol),
            (client_frame(true, 0x3, b""), ReadError::Protocol),
            (client_frame(false, OP_PING, b""), ReadError::Protocol),
            (client_frame(true, OP_PING, &[0; 126]), ReadError::Protocol),
            (client_frame(true, OP_CONTINUATION, b"orphan"), ReadError::Protocol),
            ([client_frame(false, OP_TEXT, b"a"), client_frame(true, OP_TEXT, b"b")].concat(), ReadError::Protocol),
            (client_frame(true, OP_CLOSE, &[3]), ReadError::Protocol),
            (client_frame(true, OP_TEXT, &[0xff, 0xfe]), ReadError::NotUtf8),
            (client_frame(true, OP_BINARY, &[0xde, 0xad]), ReadError::Binary),
            (huge_header, ReadError::TooBig),
            (too_long_in_pieces, ReadError::TooBig),
        ];
        for (bytes, expected) in cases {
            let (mut socket, mut client) = pair();
            client.write_all(&bytes).await.expect("write");
            assert_eq!(socket.recv().await, Err(expected), "{:02x?}", &bytes[..bytes.len().min(12)]);
        }
    }

    #[test]
    fn the_accept_key_is_rfc_6455s() {
        // The example of RFC 6455 §1.3.
        assert_eq!(accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }
}
