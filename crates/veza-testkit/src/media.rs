//! Audio the tests make themselves (ffmpeg's tone and noise generators, encoded in any format),
//! multipart forms written byte by byte (so a test can also send broken ones), and waiting for a
//! track to finish processing.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::server::{read, TestServer};

/// `seconds` of a 440 Hz tone mixed with noise, stereo 44.1 kHz, tagged with a title, an artist
/// and a year, encoded by ffmpeg into `file` with `codec_args`.
pub fn make_audio(file: &Path, seconds: f64, codec_args: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("sine=frequency=440:duration={seconds}"))
        .args(["-f", "lavfi", "-i"])
        .arg(format!("anoisesrc=d={seconds}:a=0.05"))
        .args(["-filter_complex", "[0][1]amix=inputs=2,aformat=channel_layouts=stereo", "-ar", "44100"])
        .args(["-metadata", "title=Test Tone", "-metadata", "artist=The Oscillators", "-metadata", "date=2021"])
        .args(codec_args)
        .arg(file)
        .status()
        .expect("ffmpeg is installed (scripts/test installs it)");
    assert!(status.success(), "making {}", file.display());
}

/// [`make_audio`] as an MP3 carrying a 1600×900 PNG as its cover art (an ID3 attached picture).
pub fn make_audio_with_cover(file: &Path, seconds: f64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let picture = dir.path().join("cover.png");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=1600x900:duration=1", "-frames:v", "1"])
        .arg(&picture)
        .status()
        .expect("ffmpeg");
    assert!(status.success(), "making a picture");
    let plain = dir.path().join("plain.mp3");
    make_audio(&plain, seconds, &["-c:a", "libmp3lame", "-b:a", "128k"]);
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&plain)
        .arg("-i")
        .arg(&picture)
        .args(["-map", "0:a", "-map", "1:v", "-c:a", "copy", "-c:v", "png", "-disposition:v", "attached_pic"])
        .args(["-id3v2_version", "3"])
        .arg(file)
        .status()
        .expect("ffmpeg");
    assert!(status.success(), "tagging {} with a cover", file.display());
}

/// Every file under `dir`, at any depth, as paths; none when it does not exist.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path.display().to_string());
        }
    }
    found
}

/// A `multipart/form-data` body.
#[derive(Debug, Default)]
pub struct Form {
    boundary: String,
    body: Vec<u8>,
}

impl Form {
    pub fn new() -> Self {
        Self { boundary: format!("veza-test-{:016x}", rand::random::<u64>()), body: Vec::new() }
    }

    pub fn text(mut self, name: &str, value: &str) -> Self {
        let head = format!("--{}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n", self.boundary);
        self.body.extend_from_slice(head.as_bytes());
        self.body.extend_from_slice(value.as_bytes());
        self.body.extend_from_slice(b"\r\n");
        self
    }

    pub fn file(mut self, name: &str, file_name: &str, bytes: &[u8]) -> Self {
        let head = format!(
            "--{}\r\ncontent-disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\ncontent-type: application/octet-stream\r\n\r\n",
            self.boundary
        );
        self.body.extend_from_slice(head.as_bytes());
        self.body.extend_from_slice(bytes);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// The finished body, closing boundary included.
    pub fn finish(mut self) -> (String, Vec<u8>) {
        self.body.extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        (self.content_type(), self.body)
    }
}

/// Posts `form` to `POST /api/v1/tracks`.
pub async fn upload(server: &TestServer, token: &str, form: Form) -> (u16, Value) {
    read(upload_body(server, token, form.finish()).await).await
}

/// Posts a finished form's `(content type, body)` — possibly altered — to `POST /api/v1/tracks`.
pub async fn upload_body(
    server: &TestServer,
    token: &str,
    (content_type, body): (String, Vec<u8>),
) -> reqwest::Response {
    server
        .client
        .post(server.url("/api/v1/tracks"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("upload request")
}

/// Polls the track until it leaves `processing` (or `limit` passes); returns it.
pub async fn wait_processed(server: &TestServer, token: &str, id: &str, limit: Duration) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let (status, track) = server.get(&format!("/api/v1/tracks/{id}"), Some(token)).await;
        assert_eq!(status, 200, "{track}");
        if track["state"] != "processing" || Instant::now() > deadline {
            return track;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A stand-in for ffmpeg at `dir/ffmpeg-{name}` that answers Veza's start-up checks (`-version`,
/// `-encoders`) as ffmpeg does, runs the shell line `before` ahead of each processing run, then
/// runs the real ffmpeg with `extra` arguments first: a way to crash, stall or slow one run.
pub fn ffmpeg_wrapper(dir: &Path, name: &str, before: &str, extra: &str) -> String {
    let path = dir.join(format!("ffmpeg-{name}"));
    let script = format!(
        "#!/bin/sh\ncase \"$*\" in *-version*|*-encoders*) exec ffmpeg \"$@\";; esac\n{before}\nexec ffmpeg {extra} \"$@\"\n"
    );
    std::fs::write(&path, script).expect("write the wrapper");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("make it runnable");
    path.to_str().expect("a UTF-8 path").to_string()
}
