//! Tracks end to end against a running Veza with real ffmpeg, on SQLite and PostgreSQL: upload
//! (streamed multipart), processing by the node's workers (announced on the gateway), stream
//! URLs, the media route (ranges, validators, caching, signatures), waveforms, cover art,
//! visibility, edits and deletion, playback by hls.js in Chromium, S3 storage; and every kind
//! of bad upload, which is refused or ends `failed` without leaving files behind.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use veza_testkit::db::{Backend, TestDb};
use veza_testkit::media::{ffmpeg_wrapper, files_under, make_audio, upload, upload_body, wait_processed, Form};
use veza_testkit::on_both_databases;
use veza_testkit::server::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_veza");
const PROCESSING_LIMIT: Duration = Duration::from_secs(90);

on_both_databases!(a_track_goes_from_upload_to_playback);

fn access(body: &Value) -> String {
    body["tokens"]["access_token"].as_str().unwrap_or_else(|| panic!("no access token in {body}")).to_string()
}

fn flac(dir: &Path, seconds: f64) -> Vec<u8> {
    let file = dir.join("tone.flac");
    make_audio(&file, seconds, &["-c:a", "flac"]);
    std::fs::read(&file).unwrap()
}

/// Files left under a folder, recursively.
async fn fetch(server: &TestServer, url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = server.client.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("media request")
}

fn header<'a>(res: &'a reqwest::Response, name: &str) -> &'a str {
    res.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// The URI of a playlist line resolved against the playlist's URL.
fn resolve(base: &str, uri: &str) -> String {
    format!("{}/{uri}", base.rsplit_once('/').expect("a path").0)
}

async fn a_track_goes_from_upload_to_playback(backend: Backend) {
    let server = TestServer::start(BIN, backend).await;
    let artist = server.register("artist").await;
    let token = access(&artist);
    let artist_id = artist["user"]["id"].as_str().unwrap().to_string();
    let listener = access(&server.register("listener").await);
    let dir = tempfile::tempdir().unwrap();
    let audio = flac(dir.path(), 8.0);
    let mut gateway = veza_testkit::gateway::GatewayClient::connect(&server.base).await;
    gateway.identify(&token).await;

    // Empty title: taken from the file's tags, as are the artist and the year.
    let form = Form::new()
        .text("title", "")
        .text("tags", "Ambient, drone")
        .text("tags", "test")
        .file("file", "my tone.flac", &audio)
        .text("visibility", "public");
    let (status, track) = upload(&server, &token, form).await;
    assert_eq!(status, 201, "{track}");
    let id = track["id"].as_str().unwrap().to_string();
    assert_eq!(track["title"], "Test Tone");
    assert_eq!(track["artist"], "The Oscillators");
    assert_eq!(track["year"], 2021);
    assert_eq!(track["tags"], json!(["ambient", "drone", "test"]));
    assert_eq!(track["original"]["format"], "flac");
    assert_eq!(track["original"]["file_name"], "my tone.flac");
    assert_eq!(track["state"], "processing");
    assert!(track["secret"].is_string(), "the owner sees the link secret");

    // The artist's gateway session hears of it.
    let (update, _) = gateway.until("TRACK_UPDATE").await;
    assert_eq!((update["id"].as_str(), update["state"].as_str()), (Some(id.as_str()), Some("ready")));
    let track = wait_processed(&server, &token, &id, PROCESSING_LIMIT).await;
    assert_eq!(track["state"], "ready", "{track}\n{}", server.log_text());
    assert_eq!(track["progress"], 100);
    let duration = track["duration_ms"].as_u64().unwrap();
    assert!(duration.abs_diff(8000) <= 100, "duration {duration}");
    let gain = track["loudness"]["gain_db"].as_f64().expect("loudness measured");
    assert!(gain.is_finite());

    // Anyone may play a public track; the original only when the artist allows downloads.
    let (status, stream) = server.get(&format!("/api/v1/tracks/{id}/stream"), None).await;
    assert_eq!(status, 200, "{stream}");
    assert!(stream["original"].is_null());
    assert_eq!(stream["duration_ms"], duration);
    let (_, own) = server.get(&format!("/api/v1/tracks/{id}/stream"), Some(&token)).await;
    assert!(own["original"].is_string(), "the artist can always fetch the original");

    // The AAC master, its first variant, and that variant's init segment and first segment.
    let master_url = stream["hls_aac"].as_str().unwrap();
    assert!(master_url.starts_with(&server.base), "{master_url}");
    let res = fetch(&server, master_url, &[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-type"), "application/vnd.apple.mpegurl");
    assert_eq!(header(&res, "cache-control"), "no-cache");
    let master = res.text().await.unwrap();
    assert!(master.contains("CODECS=\"mp4a.40.2\""), "{master}");
    let variant_url =
        resolve(master_url, master.lines().find(|l| !l.starts_with('#') && !l.is_empty()).expect("a variant"));
    let variant = fetch(&server, &variant_url, &[]).await.text().await.unwrap();
    assert!(variant.contains("#EXT-X-INDEPENDENT-SEGMENTS") || master.contains("#EXT-X-INDEPENDENT-SEGMENTS"));
    let segment_url =
        resolve(&variant_url, variant.lines().find(|l| !l.starts_with('#') && !l.is_empty()).expect("a segment"));
    let res = fetch(&server, &segment_url, &[]).await;
    assert_eq!(res.status(), 200, "{segment_url}");
    assert_eq!(header(&res, "content-type"), "audio/mp4");
    assert!(header(&res, "cache-control").contains("immutable"));
    assert_eq!(header(&res, "accept-ranges"), "bytes");
    assert!(!header(&res, "last-modified").is_empty());
    let etag = header(&res, "etag").to_string();
    assert!(etag.starts_with('"') && etag.len() > 2, "{etag}");
    let whole = res.bytes().await.unwrap();
    let len = whole.len();
    assert!(len > 1000);

    // Ranges: the exact bytes; a suffix; one past the end is 416 with the size.
    let res = fetch(&server, &segment_url, &[("range", "bytes=10-99")]).await;
    assert_eq!(res.status(), 206);
    assert_eq!(header(&res, "content-range"), format!("bytes 10-99/{len}"));
    assert_eq!(res.bytes().await.unwrap(), whole.slice(10..100));
    let res = fetch(&server, &segment_url, &[("range", "bytes=-50")]).await;
    assert_eq!(res.status(), 206);
    assert_eq!(res.bytes().await.unwrap(), whole.slice(len - 50..));
    let res = fetch(&server, &segment_url, &[("range", &format!("bytes={len}-"))]).await;
    assert_eq!(res.status(), 416);
    assert_eq!(header(&res, "content-range"), format!("bytes */{len}"));
    assert_eq!(header(&res, "content-type"), "application/problem+json");
    // Validators and HEAD.
    let res = fetch(&server, &segment_url, &[("if-none-match", &etag)]).await;
    assert_eq!(res.status(), 304);
    let res = server.client.head(&segment_url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-length"), len.to_string());

    // The Opus master names its codec; the MP3 and preview are MP3.
    let opus = fetch(&server, stream["hls_opus"].as_str().unwrap(), &[]).await.text().await.unwrap();
    assert!(opus.contains("CODECS=\"Opus\""), "{opus}");
    for key in ["mp3", "preview"] {
        let res = fetch(&server, stream[key].as_str().unwrap(), &[]).await;
        assert_eq!(res.status(), 200, "{key}");
        assert_eq!(header(&res, "content-type"), "audio/mpeg");
    }

    // A tampered signature is 403; a path climbing out of its folder does not exist.
    let (head, tail) = master_url.rsplit_once("/master.m3u8").unwrap();
    let (prefix, sig) = head.rsplit_once('/').unwrap();
    let flipped = if sig.starts_with('A') { sig.replacen('A', "B", 1) } else { format!("A{}", &sig[1..]) };
    let res = fetch(&server, &format!("{prefix}/{flipped}/master.m3u8{tail}"), &[]).await;
    assert_eq!(res.status(), 403);
    // (The client resolves dot segments, so these arrive as other renditions' paths, which
    // the signature does not cover; `MediaPath::parse` refuses raw ones, see its unit tests.)
    for climbing in ["/../../original/original.flac", "/%2e%2e/original/original.flac"] {
        let res = fetch(&server, &format!("{head}{climbing}"), &[]).await;
        assert!(matches!(res.status().as_u16(), 403 | 404), "{climbing}: {}", res.status());
    }

    // Waveforms: audiowaveform v2, and the 1800-bar summary.
    let (status, full) = server.get(&format!("/api/v1/tracks/{id}/waveform"), None).await;
    assert_eq!(status, 200);
    assert_eq!(full["version"], 2);
    assert_eq!(full["data"].as_array().unwrap().len() as u64, full["length"].as_u64().unwrap() * 2);
    let (_, summary) = server.get(&format!("/api/v1/tracks/{id}/waveform?view=summary"), None).await;
    assert_eq!(summary["samples"].as_array().unwrap().len(), 1800);
    let (status, _) = server.get(&format!("/api/v1/tracks/{id}/waveform?view=tiny"), None).await;
    assert_eq!(status, 400);

    // Listing: others see public tracks, without the link secret.
    let (status, page) = server.get(&format!("/api/v1/users/{artist_id}/tracks"), None).await;
    assert_eq!(status, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page["items"][0]["secret"].is_null());

    // Private: the owner only. Unlisted: anyone with the secret.
    let secret = track["secret"].as_str().unwrap().to_string();
    let (status, edited) =
        server.patch(&format!("/api/v1/tracks/{id}"), &json!({"visibility": "private"}), Some(&token)).await;
    assert_eq!((status, edited["visibility"].as_str()), (200, Some("private")));
    for who in [None, Some(listener.as_str())] {
        assert_eq!(server.get(&format!("/api/v1/tracks/{id}"), who).await.0, 404);
        assert_eq!(server.get(&format!("/api/v1/tracks/{id}/stream"), who).await.0, 404);
    }
    let (_, page) = server.get(&format!("/api/v1/users/{artist_id}/tracks"), None).await;
    assert_eq!(page["items"], json!([]));
    let (_, page) = server.get(&format!("/api/v1/users/{artist_id}/tracks"), Some(&token)).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "the owner sees their private tracks");
    server.patch(&format!("/api/v1/tracks/{id}"), &json!({"visibility": "unlisted"}), Some(&token)).await;
    assert_eq!(server.get(&format!("/api/v1/tracks/{id}"), Some(&listener)).await.0, 404);
    let (status, shared) = server.get(&format!("/api/v1/tracks/{id}?secret={secret}"), Some(&listener)).await;
    assert_eq!(status, 200, "{shared}");
    assert!(shared["secret"].is_null());
    assert_eq!(server.get(&format!("/api/v1/tracks/{id}/stream?secret={secret}"), None).await.0, 200);
    assert_eq!(server.get(&format!("/api/v1/tracks/{id}/stream?secret=wrong"), None).await.0, 404);

    // Edits: the owner's (a link's secret lets one listen, not edit); bad fields are named.
    let (status, _) =
        server.patch(&format!("/api/v1/tracks/{id}?secret={secret}"), &json!({"title": "Mine"}), Some(&listener)).await;
    assert_eq!(status, 404);
    let (status, body) = server
        .patch(&format!("/api/v1/tracks/{id}"), &json!({"title": " ", "tags": vec!["x"; 11]}), Some(&token))
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, edited) = server
        .patch(&format!("/api/v1/tracks/{id}"), &json!({"title": "Renamed", "genre": "drone"}), Some(&token))
        .await;
    assert_eq!((status, edited["title"].as_str(), edited["genre"].as_str()), (200, Some("Renamed"), Some("drone")));

    // Deleting removes every stored file; old URLs stop working.
    let (status, _) = server.delete(&format!("/api/v1/tracks/{id}"), Some(&listener)).await;
    assert_eq!(status, 404, "an unlisted track does not exist for others");
    server.patch(&format!("/api/v1/tracks/{id}"), &json!({"visibility": "public"}), Some(&token)).await;
    let (status, _) = server.patch(&format!("/api/v1/tracks/{id}"), &json!({"title": "Mine"}), Some(&listener)).await;
    assert_eq!(status, 403, "others see a public track but may not edit it");
    let (status, _) = server.delete(&format!("/api/v1/tracks/{id}"), Some(&listener)).await;
    assert_eq!(status, 403);
    let (status, _) = server.delete(&format!("/api/v1/tracks/{id}"), Some(&token)).await;
    assert_eq!(status, 204);
    assert_eq!(server.get(&format!("/api/v1/tracks/{id}"), Some(&token)).await.0, 404);
    assert_eq!(files_under(&server.data_dir().join("media").join("tracks")), Vec::<String>::new());
    assert_eq!(fetch(&server, &segment_url, &[]).await.status(), 404);
    assert_eq!(files_under(&server.data_dir().join("uploads")), Vec::<String>::new());
}

/// Uploads refused for their form, their size or their content, and one cut off mid-stream: each
/// gets its own clear answer, and no received file stays behind.
#[tokio::test]
async fn bad_uploads_are_refused_and_leave_nothing_behind() {
    let db = TestDb::new(Backend::Sqlite).await;
    let server = TestServer::start_with(BIN, db, &[("VEZA_UPLOAD_MAX_BYTES", "1048576")]).await;
    let token = access(&server.register("artist").await);
    let dir = tempfile::tempdir().unwrap();
    let audio = flac(dir.path(), 2.0);

    let (status, body) = upload(&server, "not-a-token", Form::new().file("file", "a.flac", &audio)).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = server.post("/api/v1/tracks", &json!({"title": "x"}), Some(&token)).await;
    assert_eq!((status, body["code"].as_str()), (415, Some("unsupported_media_type")), "{body}");

    let cases: Vec<(Form, u16, &str)> = vec![
        (Form::new().text("title", "no file"), 422, "file"),
        (Form::new().file("file", "a.flac", &audio).text("mood", "happy"), 422, "mood"),
        (Form::new().file("file", "a.flac", &audio).text("visibility", "friends"), 422, "visibility"),
        (Form::new().file("file", "a.flac", &audio).text("downloadable", "maybe"), 422, "downloadable"),
        (Form::new().file("file", "a.flac", &audio).text("title", &"t".repeat(201)), 422, "title"),
        (Form::new().file("file", "a.flac", &audio).file("file", "b.flac", &audio), 422, "file"),
        (Form::new().file("file", "empty.mp3", b""), 422, "file"),
        (Form::new().file("file", "notes.mp3", b"these are my lyrics, not an mp3\n"), 415, ""),
        (Form::new().file("file", "big.flac", &vec![7u8; 1_200_000]), 413, ""),
        (Form::new().text("description", &"d".repeat(70 * 1024)), 413, ""),
    ];
    for (form, expected, field) in cases {
        let (status, body) = upload(&server, &token, form).await;
        assert_eq!(status, expected, "{body}");
        assert_eq!(body["status"], expected, "problem+json: {body}");
        if !field.is_empty() {
            assert!(body["errors"].to_string().contains(field) || body["detail"].to_string().contains(field), "{body}");
        }
    }

    // A form whose closing boundary never comes.
    let (content_type, mut body) = Form::new().file("file", "a.flac", &audio).finish();
    body.truncate(body.len() - 30);
    let (status, body) = veza_testkit::server::read(upload_body(&server, &token, (content_type, body)).await).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("upload_interrupted")), "{body}");

    // A client that announces a large body, sends part of it and hangs up.
    cut_off_upload(&server, &token, &audio).await;

    // Nothing was kept (the cut-off upload's file goes once the server sees the connection
    // end), and the server still takes a good upload.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !files_under(&server.data_dir().join("uploads")).is_empty() {
        assert!(std::time::Instant::now() < deadline, "the cut-off upload's file stayed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(files_under(&server.data_dir().join("media")), Vec::<String>::new());
    let (status, track) = upload(&server, &token, Form::new().file("file", "a.flac", &audio)).await;
    assert_eq!(status, 201, "{track}");
    assert_eq!(track["title"], "Test Tone");
}

async fn cut_off_upload(server: &TestServer, token: &str, audio: &[u8]) {
    use tokio::io::AsyncWriteExt;
    let (content_type, body) = Form::new().file("file", "a.flac", audio).finish();
    let addr = server.base.strip_prefix("http://").unwrap();
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/v1/tracks HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&body[..body.len() / 2]).await.unwrap();
    socket.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(socket);
}

/// A file whose header promises more audio than it holds (a FLAC cut to 40 %: its STREAMINFO
/// still counts every sample) is accepted, since its header probes fine, and then fails
/// processing with a reason; only the original is kept.
#[tokio::test]
async fn a_truncated_file_fails_with_a_reason() {
    let server = TestServer::start(BIN, Backend::Sqlite).await;
    let token = access(&server.register("artist").await);
    let dir = tempfile::tempdir().unwrap();
    let mut cut = flac(dir.path(), 10.0);
    cut.truncate(cut.len() * 4 / 10);
    let (status, track) = upload(&server, &token, Form::new().file("file", "long.flac", &cut)).await;
    assert_eq!(status, 201, "{track}");
    let id = track["id"].as_str().unwrap();
    let track = wait_processed(&server, &token, id, PROCESSING_LIMIT).await;
    assert_eq!(track["state"], "failed", "{track}");
    let reason = track["failure"].as_str().unwrap();
    assert!(reason.contains("truncated") || reason.contains("shorter"), "{reason}");
    let (status, body) = server.get(&format!("/api/v1/tracks/{id}/stream"), None).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("not_ready")), "{body}");
    let kept = files_under(&server.data_dir().join("media").join("tracks").join(id));
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].ends_with("original/original.flac"), "{kept:?}");
}

/// ffmpeg dying mid-run (here: killed by a signal on its first transcode) is not the file's
/// fault: the job is retried after its backoff and the track ends ready.
#[tokio::test]
async fn a_crashed_ffmpeg_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("crashed-once");
    let crash_once = format!("if [ ! -e '{m}' ]; then touch '{m}'; kill -KILL $$; fi", m = marker.display());
    let wrapper = ffmpeg_wrapper(dir.path(), "crashing-once", &crash_once, "");
    let db = TestDb::new(Backend::Sqlite).await;
    let server = TestServer::start_with(BIN, db, &[("VEZA_FFMPEG", wrapper.as_str())]).await;
    let token = access(&server.register("artist").await);
    let audio = flac(dir.path(), 3.0);
    let (status, track) = upload(&server, &token, Form::new().file("file", "a.flac", &audio)).await;
    assert_eq!(status, 201, "{track}");
    let id = track["id"].as_str().unwrap();
    let track = wait_processed(&server, &token, id, PROCESSING_LIMIT).await;
    assert!(marker.exists(), "the wrapper crashed once");
    assert_eq!(track["state"], "ready", "{track}\n{}", server.log_text());
    assert!(server.log_text().contains("will retry"), "{}", server.log_text());
    assert_eq!(files_under(&server.data_dir().join("work")), Vec::<String>::new(), "no scratch files left");
}

/// A run that says nothing for longer than the lease (here ffmpeg silent for 10 s against a 4 s
/// lease) keeps its job: the worker renews the lease on a timer, not on ffmpeg's progress, so no
/// second worker runs the same track. Before, the second worker took the job once the lease
/// lapsed, ffmpeg ran twice and the track was finished twice.
#[tokio::test]
async fn a_silent_ffmpeg_keeps_its_lease_and_runs_once() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let silent_first =
        format!("echo run >> '{r}'\nif [ \"$(wc -l < '{r}')\" -eq 1 ]; then sleep 10; fi", r = runs.display());
    let wrapper = ffmpeg_wrapper(dir.path(), "silent-first", &silent_first, "");
    let db = TestDb::new(Backend::Sqlite).await;
    let env = [("VEZA_FFMPEG", wrapper.as_str()), ("VEZA_JOB_LEASE_SECS", "4")];
    let server = TestServer::start_with(BIN, db, &env).await;
    let token = access(&server.register("artist").await);
    let audio = flac(dir.path(), 3.0);
    let (status, track) = upload(&server, &token, Form::new().file("file", "a.flac", &audio)).await;
    assert_eq!(status, 201, "{track}");
    let id = track["id"].as_str().unwrap();
    let track = wait_processed(&server, &token, id, PROCESSING_LIMIT).await;
    assert_eq!(track["state"], "ready", "{track}\n{}", server.log_text());
    let log = server.log_text();
    assert_eq!(std::fs::read_to_string(&runs).unwrap().lines().count(), 1, "ffmpeg ran once:\n{log}");
    assert_eq!(log.matches("track ready").count(), 1, "{log}");
    assert!(!log.contains("lost the job's lease") && !log.contains("taken over"), "{log}");
}

/// hls.js in headless Chromium plays both masters from a running Veza (cross-origin, through
/// its CORS allowlist), with both variants of each, and goes on playing after a seek to the
/// middle.
#[tokio::test]
async fn hls_js_in_chromium_plays_both_masters_and_seeks() {
    let mut browser = veza_testkit::browser::Browser::start_player().await;
    let db = TestDb::new(Backend::Sqlite).await;
    let server = TestServer::start_with(BIN, db, &[("VEZA_CORS_ORIGINS", &browser.origin)]).await;
    let token = access(&server.register("artist").await);
    let dir = tempfile::tempdir().unwrap();
    let audio = flac(dir.path(), 20.0);
    let (status, track) = upload(&server, &token, Form::new().file("file", "a.flac", &audio)).await;
    assert_eq!(status, 201, "{track}");
    let id = track["id"].as_str().unwrap();
    let track = wait_processed(&server, &token, id, PROCESSING_LIMIT).await;
    assert_eq!(track["state"], "ready", "{track}");
    let (_, stream) = server.get(&format!("/api/v1/tracks/{id}/stream"), None).await;
    for (key, codec, bitrates) in [("hls_aac", "mp4a.40.2", [160_000, 96_000]), ("hls_opus", "opus", [96_000, 64_000])]
    {
        let played = browser.play(stream[key].as_str().unwrap()).await.unwrap_or_else(|e| panic!("{key}: {e}"));
        let mut levels = played["levels"].as_array().unwrap().clone();
        assert_eq!(levels.len(), 2, "{key}: {played}");
        levels.sort_by(|a, b| b["bitrate"].as_f64().unwrap().total_cmp(&a["bitrate"].as_f64().unwrap()));
        for (level, nominal) in levels.iter().zip(bitrates) {
            assert!(level["codecs"].as_str().unwrap_or_default().to_lowercase().contains(codec), "{key}: {played}");
            let bitrate = level["bitrate"].as_f64().unwrap();
            assert!(bitrate >= f64::from(nominal) * 0.9, "{key}: the declared bandwidth covers the bitrate: {played}");
        }
        let duration = played["duration"].as_f64().unwrap();
        assert!((duration - 20.0).abs() < 0.5, "{key}: {played}");
        assert!(played["played_after_seek_to"].as_f64().unwrap() > played["seeked_to"].as_f64().unwrap(), "{played}");
    }
}

/// On S3 storage (a real `s3s-fs`), playlists come from Veza and segments and files through
/// redirects to presigned URLs of the store; deleting the track empties its prefix there.
#[tokio::test]
async fn on_s3_storage_media_redirects_to_presigned_urls() {
    let s3 = veza_testkit::s3::S3Server::start().await;
    let db = TestDb::new(Backend::Sqlite).await;
    let storage = s3.storage_url("media");
    let server = TestServer::start_with(BIN, db, &[("VEZA_STORAGE_URL", &storage)]).await;
    let token = access(&server.register("artist").await);
    let dir = tempfile::tempdir().unwrap();
    let audio = flac(dir.path(), 4.0);
    let (status, track) = upload(&server, &token, Form::new().file("file", "a.flac", &audio)).await;
    assert_eq!(status, 201, "{track}");
    let id = track["id"].as_str().unwrap();
    let track = wait_processed(&server, &token, id, PROCESSING_LIMIT).await;
    assert_eq!(track["state"], "ready", "{track}\n{}", server.log_text());
    let bucket = s3.root.path().join(veza_testkit::s3::BUCKET).join("media").join("tracks").join(id);
    assert!(files_under(&bucket).iter().any(|f| f.ends_with("aac/master.m3u8")), "{:?}", files_under(&bucket));
    assert_eq!(files_under(&server.data_dir().join("media")), Vec::<String>::new(), "nothing on local disk");

    let (_, stream) = server.get(&format!("/api/v1/tracks/{id}/stream"), None).await;
    let master_url = stream["hls_aac"].as_str().unwrap();
    let res = fetch(&server, master_url, &[]).await;
    assert_eq!(res.status(), 200, "playlists are served by Veza");
    let master = res.text().await.unwrap();
    let variant_url = resolve(master_url, master.lines().find(|l| !l.starts_with('#') && !l.is_empty()).unwrap());
    let variant = fetch(&server, &variant_url, &[]).await.text().await.unwrap();
    let segment_url = resolve(&variant_url, variant.lines().find(|l| !l.starts_with('#') && !l.is_empty()).unwrap());
    let direct = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = direct.get(&segment_url).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let location = header(&res, "location").to_string();
    assert!(location.starts_with(&format!("http://127.0.0.1:{}/", s3.port)), "{location}");
    let from_store = direct.get(&location).send().await.unwrap();
    assert_eq!(from_store.status(), 200, "the presigned URL works");
    assert!(from_store.bytes().await.unwrap().len() > 1000);

    assert_eq!(server.delete(&format!("/api/v1/tracks/{id}"), Some(&token)).await.0, 204);
    assert_eq!(files_under(&bucket), Vec::<String>::new());
}

/// Uploads draw on a bucket of their own, per account, on top of the caller's.
#[tokio::test]
async fn uploads_have_their_own_rate_limit() {
    let db = TestDb::new(Backend::Sqlite).await;
    let server = TestServer::start_with(BIN, db, &[("VEZA_RATE_LIMIT_TRACK_UPLOAD", "2/1h")]).await;
    let token = access(&server.register("artist").await);
    let other = access(&server.register("other").await);
    for _ in 0..2 {
        assert_eq!(upload(&server, &token, Form::new().text("title", "no file")).await.0, 422);
    }
    let res = upload_body(&server, &token, Form::new().text("title", "no file").finish()).await;
    assert_eq!(res.status(), 429);
    assert_eq!(header(&res, "x-ratelimit-bucket"), "track_upload");
    assert_eq!(header(&res, "x-ratelimit-scope"), "user");
    assert!(header(&res, "retry-after").parse::<u64>().unwrap() > 0);
    assert_eq!(upload(&server, &other, Form::new().text("title", "no file")).await.0, 422, "per account");
    assert_eq!(server.get("/api/v1/me", Some(&token)).await.0, 200, "other routes are not charged");
}

/// A file's cover art is offered with its stream as a JPEG; a file without one has none.
#[tokio::test]
async fn cover_art_comes_with_the_stream() {
    let server = TestServer::start(BIN, Backend::Sqlite).await;
    let token = access(&server.register("artist").await);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("covered.mp3");
    veza_testkit::media::make_audio_with_cover(&file, 3.0);
    let form = Form::new().file("file", "covered.mp3", &std::fs::read(&file).unwrap());
    let (status, track) = upload(&server, &token, form).await;
    assert_eq!(status, 201, "{track}");
    assert_eq!(track["has_cover"], true);
    let id = track["id"].as_str().unwrap();
    assert_eq!(wait_processed(&server, &token, id, PROCESSING_LIMIT).await["state"], "ready");
    let (_, stream) = server.get(&format!("/api/v1/tracks/{id}/stream"), None).await;
    let res = fetch(&server, stream["cover"].as_str().expect("a cover URL"), &[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-type"), "image/jpeg");
    assert!(res.bytes().await.unwrap().starts_with(&[0xff, 0xd8]), "a JPEG");

    let (_, plain) = upload(&server, &token, Form::new().file("file", "plain.flac", &flac(dir.path(), 2.0))).await;
    let id = plain["id"].as_str().unwrap();
    assert_eq!(wait_processed(&server, &token, id, PROCESSING_LIMIT).await["state"], "ready");
    let (_, stream) = server.get(&format!("/api/v1/tracks/{id}/stream"), None).await;
    assert!(stream["cover"].is_null(), "{stream}");
}

/// Without a usable ffmpeg, Veza starts anyway: accounts and chat work, `/readyz` is ready but
/// lists media as degraded, an upload is refused at once with 503 saying what to install (its
/// body is not read), and the log says it once.
#[tokio::test]
async fn without_ffmpeg_veza_serves_everything_but_uploads_and_says_what_to_install() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-ffmpeg");
    let db = TestDb::new(Backend::Sqlite).await;
    let server = TestServer::start_with(BIN, db, &[("VEZA_FFMPEG", missing.to_str().unwrap())]).await;
    let token = access(&server.register("artist").await);
    let (status, community) = server.post("/api/v1/communities", &json!({"name": "Still here"}), Some(&token)).await;
    assert_eq!(status, 201, "chat works: {community}");

    let (status, ready) = server.get("/readyz", None).await;
    assert_eq!((status, ready["status"].as_str()), (200, Some("ready")), "{ready}");
    assert_eq!(ready["degraded"][0]["part"], "media", "{ready}");
    let reason = ready["degraded"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("apt-get install ffmpeg") && reason.contains("VEZA_FFMPEG"), "{ready}");

    let audio = flac(dir.path(), 1.0);
    let (status, problem) = upload(&server, &token, Form::new().file("file", "a.flac", &audio)).await;
    assert_eq!((status, problem["code"].as_str()), (503, Some("media_unavailable")), "{problem}");
    assert!(problem["detail"].as_str().unwrap_or_default().contains("apt-get install ffmpeg"), "{problem}");
    assert_eq!(files_under(&server.data_dir().join("uploads")), Vec::<String>::new(), "nothing was kept");
    let log = server.log_text();
    assert_eq!(log.matches("uploads and processing are off on this node").count(), 1, "{log}");
}

/// A message linking to a Veza track carries its card — over REST and on the gateway — as
/// anyone may see the track: public ones, unlisted ones with the secret in the link; a private
/// track, or one deleted since, shows none.
#[tokio::test]
async fn messages_carry_cards_of_the_tracks_they_link_to() {
    let server = TestServer::start(BIN, Backend::Sqlite).await;
    let token = access(&server.register("artist").await);
    let dir = tempfile::tempdir().unwrap();
    let audio = flac(dir.path(), 2.0);
    let mut ids = Vec::new();
    for visibility in ["public", "unlisted", "private"] {
        let form = Form::new().file("file", "a.flac", &audio).text("title", visibility).text("visibility", visibility);
        let (status, track) = upload(&server, &token, form).await;
        assert_eq!(status, 201, "{track}");
        ids.push((track["id"].as_str().unwrap().to_string(), track["secret"].as_str().unwrap().to_string()));
    }
    let (_, community) = server.post("/api/v1/communities", &json!({"name": "Studio"}), Some(&token)).await;
    let channels = format!("/api/v1/communities/{}/channels", community["id"].as_str().unwrap());
    let (_, channel) = server.post(&channels, &json!({"name": "shares", "kind": "text"}), Some(&token)).await;
    let messages = format!("/api/v1/channels/{}/messages", channel["id"].as_str().unwrap());
    let mut gateway = veza_testkit::gateway::GatewayClient::connect(&server.base).await;
    gateway.identify(&token).await;

    let [(public, _), (unlisted, secret), (private, private_secret)] = &ids[..] else { unreachable!() };
    let base = &server.base;
    let content = format!(
        "new ones: {base}/tracks/{public}, {base}/tracks/{unlisted}?secret={secret} (and {base}/tracks/{unlisted} \
         without the secret), {base}/tracks/{private}?secret={private_secret}"
    );
    let (status, sent) = server.post(&messages, &json!({"content": content}), Some(&token)).await;
    assert_eq!(status, 201, "{sent}");
    let titles = |m: &Value| m["embeds"].as_array().unwrap().iter().map(|e| e["title"].clone()).collect::<Vec<_>>();
    assert_eq!(titles(&sent), vec![json!("public"), json!("unlisted")], "{sent}");
    assert_eq!(sent["embeds"][0]["type"], "track");
    assert_eq!(sent["embeds"][0]["track_id"].as_str(), Some(public.as_str()));
    let (created, _) = gateway.until("MESSAGE_CREATE").await;
    assert_eq!(titles(&created), titles(&sent));

    // Read later: the cards follow the tracks as they are now.
    assert_eq!(server.delete(&format!("/api/v1/tracks/{public}"), Some(&token)).await.0, 204);
    let (_, page) = server.get(&messages, Some(&token)).await;
    assert_eq!(titles(&page[0]), vec![json!("unlisted")], "{page}");
}
