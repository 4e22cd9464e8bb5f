//! The load: connect every client (IDENTIFY, wait for READY), then send messages at a steady
//! rate through the clients in turn and time each delivery to each member of the channel.
//!
//! With `--processes N` the rooms are set up once, then split between N worker processes (this
//! same binary), each holding its rooms' connections and sending its share of the rate; every
//! member of a room lives in one worker, so each latency is measured on one clock. The
//! coordinator starts each phase in every worker at once and merges their histograms.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::json;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, Mutex};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

type Sink = Arc<Mutex<SplitSink<WebSocketStream<TcpStream>, Message>>>;

/// A client: where to write, and the last dispatch it has read (its heartbeats acknowledge it).
#[derive(Clone)]
struct Client {
    sink: Sink,
    seen: Arc<AtomicU64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// A Veza server: people are registered and rooms set up over REST first.
    Veza,
    /// `veza-loadgen bare`: rooms are implicit.
    Bare,
}

#[derive(Debug, clap::Args)]
pub struct Load {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(long, value_enum, default_value = "veza")]
    target: Target,
    /// Connections, one per person.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Members of each channel.
    #[arg(long, default_value_t = 100)]
    pub room_size: usize,
    /// Messages per second over all channels; several (`200,500,1000`) are run one after the
    /// other on the same clients.
    #[arg(long, value_delimiter = ',', default_value = "100")]
    pub rates: Vec<f64>,
    /// Seconds measured, after the warm-up.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// Source addresses 127.0.0.1..=127.0.0.N to spread the connections over.
    #[arg(long, default_value_t = 1)]
    sources: u8,
    /// The server's process id, to report its memory per connection.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Connections opened at once during the connect phase.
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// Worker processes the connections are spread over (a process may hold only so many
    /// sockets).
    #[arg(long, default_value_t = 1)]
    pub processes: usize,
    /// Run as a worker of a coordinating `run`, on the rooms in this file (internal).
    #[arg(long, hide = true)]
    worker_plan: Option<std::path::PathBuf>,
}

/// How long a phase waits for its last deliveries.
const DRAIN: Duration = Duration::from_secs(30);

/// Socket buffers of the load generator's own connections (it holds thousands).
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(4096)
}

/// What every reader shares: when the run started (timestamps in messages are relative to it)
/// and the counters.
struct Shared {
    start: Instant,
    errors: AtomicU64,
    /// (phase, microseconds) per measured delivery.
    latencies: mpsc::UnboundedSender<(u32, u64)>,
}

pub async fn run(load: Load) -> anyhow::Result<()> {
    anyhow::ensure!(load.clients >= load.room_size && load.room_size > 0, "--clients must be at least --room-size");
    if let Some(plan) = &load.worker_plan {
        let rooms = crate::setup::Room::read_all(plan)?;
        return work(&load, rooms).await;
    }
    let rooms = load.clients / load.room_size;
    let clients = rooms * load.room_size;
    anyhow::ensure!((1..=rooms).contains(&load.processes), "--processes must be between 1 and the number of rooms");
    let run_id =
        format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() % 0xffff_ffff);
    eprintln!("setting up {rooms} rooms of {} ({clients} clients) on {}", load.room_size, load.url);
    let rooms: Vec<crate::setup::Room> = match load.target {
        Target::Veza => crate::setup::rooms(&load.url, &run_id, rooms, load.room_size).await?,
        Target::Bare => (0..rooms)
            .map(|r| crate::setup::Room { channel: r.to_string(), tokens: vec![format!("room:{r}"); load.room_size] })
            .collect(),
    };
    if load.processes > 1 {
        return crate::workers::coordinate(&load, &run_id, rooms).await;
    }
    let rss_before = load.server_pid.and_then(rss_kib);
    let (sinks, shared, mut collected) = connect_all(&load, &rooms).await?;
    let rss_after = load.server_pid.and_then(rss_kib);
    for (phase, rate) in load.rates.iter().enumerate() {
        let phase = phase as u32 + 1;
        let measured = measure(&load, *rate, phase, &rooms, &sinks, &shared, &mut collected).await?;
        println!("{}", measured.summary(&load, rate, sinks.len()));
    }
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        report_memory(&load, before, after, clients);
    }
    std::process::exit(0);
}

/// What a worker does: connect its rooms, say `ready`, then run a phase each time it reads a
/// line, answering with its histogram.
async fn work(load: &Load, rooms: Vec<crate::setup::Room>) -> anyhow::Result<()> {
    use tokio::io::AsyncBufReadExt;
    let (sinks, shared, mut collected) = connect_all(load, &rooms).await?;
    println!("ready");
    let mut commands = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    for (phase, rate) in load.rates.iter().enumerate() {
        if commands.next_line().await?.is_none() {
            break;
        }
        let measured = measure(load, *rate, phase as u32 + 1, &rooms, &sinks, &shared, &mut collected).await?;
        println!("{}", measured.to_line());
    }
    std::process::exit(0);
}

pub fn report_memory(load: &Load, before: u64, after: u64, clients: usize) {
    let per = (after as f64 - before as f64) / clients as f64;
    println!(
        "server memory: {before} KiB before, {after} KiB with every client identified: {per:.1} KiB per connection"
    );
    println!("{}", json!({"target": format!("{:?}", load.target), "clients": clients, "kib_per_connection": per}));
}

impl Load {
    pub fn server_rss(&self) -> Option<u64> {
        self.server_pid.and_then(rss_kib)
    }

    /// The arguments a worker runs with: the same load on its rooms, at its share of each rate.
    pub fn worker_args(&self, plan: &std::path::Path, clients: usize) -> Vec<String> {
        let share = self.processes as f64;
        let rates: Vec<String> = self.rates.iter().map(|r| format!("{}", r / share)).collect();
        let mut args = vec![
            "run".to_string(),
            format!("--url={}", self.url),
            format!("--target={}", if self.target == Target::Veza { "veza" } else { "bare" }),
            format!("--clients={clients}"),
            format!("--room-size={}", self.room_size),
            format!("--rates={}", rates.join(",")),
            format!("--seconds={}", self.seconds),
            format!("--warmup={}", self.warmup),
            format!("--sources={}", self.sources),
            format!("--connect-concurrency={}", (self.connect_concurrency / self.processes).max(1)),
        ];
        args.push(format!("--worker-plan={}", plan.display()));
        args
    }
}

/// Connects every member of every room; the clients, what their readers share, and where the
/// readers send latencies. Then acknowledges everything received (as clients do with their
/// heartbeats) so the server's resume buffers hold nothing when its memory is read.
async fn connect_all(
    load: &Load,
    rooms: &[crate::setup::Room],
) -> anyhow::Result<(Vec<Client>, Arc<Shared>, mpsc::UnboundedReceiver<(u32, u64)>)> {
    let clients = rooms.len() * load.room_size;
    let (latencies, collected) = mpsc::unbounded_channel::<(u32, u64)>();
    let shared = Arc::new(Shared { start: Instant::now(), errors: AtomicU64::new(0), latencies });
    let addr: SocketAddr = load.url.trim_start_matches("http://").parse().context("--url must be http://ip:port")?;
    let sources = crate::sources(load.sources);
    let ws_url = format!("ws://{addr}/gateway");
    let started = Instant::now();
    let mut opening = tokio::task::JoinSet::new();
    let gate = Arc::new(tokio::sync::Semaphore::new(load.connect_concurrency));
    for (r, room) in rooms.iter().enumerate() {
        for (m, token) in room.tokens.iter().enumerate() {
            let index = r * load.room_size + m;
            let source = sources[index % sources.len()];
            let (gate, token, url, shared) = (gate.clone(), token.clone(), ws_url.clone(), shared.clone());
            opening.spawn(async move {
                let _slot = gate.acquire_owned().await?;
                let (sink, interval) = connect(addr, source, &url, &token, shared).await?;
                anyhow::Ok((index, sink, interval))
            });
        }
    }
    let mut sinks: Vec<Option<Client>> = vec![None; clients];
    let mut heartbeat = Duration::from_secs(41);
    while let Some(opened) = opening.join_next().await {
        let (index, sink, interval) = opened??;
        sinks[index] = Some(sink);
        heartbeat = interval;
    }
    let sinks: Vec<Client> = sinks.into_iter().map(|s| s.expect("every client connected")).collect();
    eprintln!("{clients} clients identified in {:.1}s", started.elapsed().as_secs_f64());
    tokio::time::sleep(Duration::from_secs(1)).await;
    for client in &sinks {
        let beat = format!(r#"{{"op":1,"d":{}}}"#, client.seen.load(Ordering::Relaxed));
        let _ = client.sink.lock().await.send(Message::Text(beat.into())).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Heartbeats, each client every interval on a phase of its own, spread evenly: people come
    // online at different moments, so their clients' timers are spread over the interval,
    // never all due in the same instant.
    let beating = sinks.clone();
    tokio::spawn(async move {
        let period = heartbeat.mul_f64(0.8);
        let count = u32::try_from(beating.len().max(1)).unwrap_or(u32::MAX);
        let mut round = tokio::time::Instant::now() + period;
        loop {
            for (i, client) in beating.iter().enumerate() {
                let phase = period / count * u32::try_from(i).unwrap_or(u32::MAX);
                tokio::time::sleep_until(round + phase).await;
                let beat = format!(r#"{{"op":1,"d":{}}}"#, client.seen.load(Ordering::Relaxed));
                let _ = client.sink.lock().await.send(Message::Text(beat.into())).await;
            }
            round += period;
        }
    });

    Ok((sinks, shared, collected))
}

/// Opens one client: HELLO, IDENTIFY, READY; then a reader task times the deliveries.
async fn connect(
    addr: SocketAddr,
    source: std::net::IpAddr,
    url: &str,
    token: &str,
    shared: Arc<Shared>,
) -> anyhow::Result<(Client, Duration)> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    let stream = tokio::time::timeout(crate::STEP_TIMEOUT, socket.connect(addr)).await??;
    stream.set_nodelay(true)?;
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(ws_config())).await?;
    let (mut sink, mut stream) = ws.split();
    let hello = next_text(&mut stream).await?;
    let hello: serde_json::Value = serde_json::from_str(&hello)?;
    let interval = Duration::from_millis(hello["d"]["heartbeat_interval"].as_u64().context("HELLO")?);
    sink.send(Message::Text(json!({"op": 2, "d": {"token": token}}).to_string().into())).await?;
    let seen = Arc::new(AtomicU64::new(0));
    loop {
        let frame = next_text(&mut stream).await?;
        if let Some(seq) = sequence(&frame) {
            seen.store(seq, Ordering::Relaxed);
        }
        if frame.contains(r#""t":"READY""#) {
            break;
        }
    }
    // Acknowledged at once, as a client does once it has handled READY.
    sink.send(Message::Text(format!(r#"{{"op":1,"d":{}}}"#, seen.load(Ordering::Relaxed)).into())).await?;
    tokio::spawn(read(stream, shared, seen.clone()));
    Ok((Client { sink: Arc::new(Mutex::new(sink)), seen }, interval))
}

async fn next_text(stream: &mut SplitStream<WebSocketStream<TcpStream>>) -> anyhow::Result<String> {
    loop {
        match tokio::time::timeout(crate::STEP_TIMEOUT, stream.next()).await? {
            Some(Ok(Message::Text(text))) => return Ok(text.to_string()),
            Some(Ok(Message::Close(frame))) => anyhow::bail!("closed by the server: {frame:?}"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
            None => anyhow::bail!("connection ended"),
        }
    }
}

/// Times each message delivered to this client; counts refused requests.
async fn read(mut stream: SplitStream<WebSocketStream<TcpStream>>, shared: Arc<Shared>, seen: Arc<AtomicU64>) {
    while let Some(Ok(message)) = stream.next().await {
        let Message::Text(text) = message else { continue };
        if let Some(seq) = sequence(&text) {
            seen.store(seq, Ordering::Relaxed);
        }
        let now = shared.start.elapsed().as_nanos();
        // Dispatches only: a RESPONSE carries the message too.
        let dispatch = text.starts_with(r#"{"op":0,"#);
        if let Some(at) = text.find(r#""content":"lg:"#).filter(|_| dispatch) {
            let rest = &text[at + 14..];
            let mut parts = rest.split(['"', ':']);
            let (Some(sent), Some(phase)) = (parts.next(), parts.next()) else { continue };
            if let (Ok(sent), Ok(phase)) = (sent.parse::<u128>(), phase.parse::<u32>()) {
                if phase > 0 {
                    let _ = shared.latencies.send((phase, (now.saturating_sub(sent) / 1000) as u64));
                }
            }
        } else if text.contains(r#""ok":false"#) {
            shared.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A process's resident memory, from `/proc/{pid}/status`.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// What one phase measured, in one process or merged from several.
pub struct Measured {
    pub histogram: Histogram<u64>,
    /// Messages sent while measuring, and how long sending them took.
    pub sent: u64,
    pub sending: Duration,
    pub errors: u64,
}

impl Measured {
    pub fn empty() -> anyhow::Result<Self> {
        Ok(Self { histogram: latency_histogram()?, sent: 0, sending: Duration::ZERO, errors: 0 })
    }

    /// A worker's answer: the counts and every recorded latency bucket, one JSON line.
    pub fn to_line(&self) -> String {
        let buckets: Vec<[u64; 2]> =
            self.histogram.iter_recorded().map(|v| [v.value_iterated_to(), v.count_at_value()]).collect();
        json!({"sent": self.sent, "sending_us": self.sending.as_micros() as u64, "errors": self.errors, "buckets": buckets})
            .to_string()
    }

    /// Adds a worker's answer; the phases ran side by side, so sending took the longest one's.
    pub fn merge_line(&mut self, line: &str) -> anyhow::Result<()> {
        let v: serde_json::Value = serde_json::from_str(line).with_context(|| format!("a worker answered {line:?}"))?;
        let number = |key: &str| v[key].as_u64().with_context(|| format!("{key} in {line:?}"));
        self.sent += number("sent")?;
        self.errors += number("errors")?;
        self.sending = self.sending.max(Duration::from_micros(number("sending_us")?));
        for bucket in v["buckets"].as_array().context("buckets")? {
            let (Some(value), Some(count)) = (bucket[0].as_u64(), bucket[1].as_u64()) else {
                anyhow::bail!("a bad bucket in {line:?}")
            };
            self.histogram.record_n(value, count)?;
        }
        Ok(())
    }

    /// The readable line on stderr and the JSON summary.
    pub fn summary(&self, load: &Load, rate: &f64, clients: usize) -> serde_json::Value {
        let histogram = &self.histogram;
        let expected = self.sent * load.room_size as u64;
        let sent_rate = self.sent as f64 / self.sending.as_secs_f64().max(1e-9);
        let q = |p: f64| histogram.value_at_quantile(p) as f64 / 1000.0;
        eprintln!(
            "{:?} rate {rate:.0}/s: sent {sent_rate:.0}/s ({:.0} deliveries/s), received {} of {expected}, p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms, errors {}",
            load.target,
            sent_rate * load.room_size as f64,
            histogram.len(),
            q(0.5),
            q(0.99),
            q(0.999),
            histogram.max() as f64 / 1000.0,
            self.errors,
        );
        json!({"target": format!("{:?}", load.target), "clients": clients, "room_size": load.room_size,
            "processes": load.processes, "rate": rate, "sent_per_s": sent_rate,
            "deliveries_per_s": sent_rate * load.room_size as f64, "received": histogram.len(), "expected": expected,
            "p50_ms": q(0.5), "p99_ms": q(0.99), "p999_ms": q(0.999), "max_ms": histogram.max() as f64 / 1000.0,
            "errors": self.errors})
    }
}

fn latency_histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::<u64>::new_with_bounds(1, 120_000_000, 3)?)
}

/// One phase at `rate`: warm-up, then `seconds` measured.
async fn measure(
    load: &Load,
    rate: f64,
    phase: u32,
    rooms: &[crate::setup::Room],
    sinks: &[Client],
    shared: &Shared,
    collected: &mut mpsc::UnboundedReceiver<(u32, u64)>,
) -> anyhow::Result<Measured> {
    let clients = sinks.len();
    let total = ((load.warmup + load.seconds) as f64 * rate) as u64;
    let measured_from = (load.warmup as f64 * rate) as u64;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    let mut measured_sent = 0u64;
    let mut measure_started = None;
    let errors_before = shared.errors.load(Ordering::Relaxed);
    for n in 0..total {
        tick.tick().await;
        // A stride coprime with the room size walks every room and every member in turn.
        let client = (n as usize * 7919) % clients;
        let room = &rooms[client / load.room_size];
        let measured = n >= measured_from;
        if measured && measure_started.is_none() {
            measure_started = Some(Instant::now());
        }
        let sent = shared.start.elapsed().as_nanos();
        let content = format!("lg:{sent}:{}", if measured { phase } else { 0 });
        let frame = json!({"op": 8, "d": {"id": n.to_string(), "method": "message.send", "params": {"channel_id": room.channel, "content": content}}});
        if sinks[client].sink.lock().await.send(Message::Text(frame.to_string().into())).await.is_err() {
            shared.errors.fetch_add(1, Ordering::Relaxed);
        }
        measured_sent += u64::from(measured);
    }
    let sending = measure_started.map_or(Duration::ZERO, |t| t.elapsed());
    // Every delivery, or what came within the drain time: the rest count as lost.
    let expected = measured_sent * load.room_size as u64;
    let mut histogram = latency_histogram()?;
    let deadline = tokio::time::Instant::now() + DRAIN;
    while histogram.len() < expected {
        match tokio::time::timeout_at(deadline, collected.recv()).await {
            Ok(Some((of, us))) if of == phase => histogram.saturating_record(us),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    let errors = shared.errors.load(Ordering::Relaxed) - errors_before;
    Ok(Measured { histogram, sent: measured_sent, sending, errors })
}

/// The `s` of a dispatch (`{"op":0,"s":N,…`).
fn sequence(frame: &str) -> Option<u64> {
    let rest = frame.strip_prefix(r#"{"op":0,"s":"#)?;
    rest[..rest.find(',')?].parse().ok()
}
