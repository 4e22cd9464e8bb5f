//! The media pipeline on Debian's ffmpeg. Probing runs `ffprobe` on the staged upload; the
//! format is decided by what it finds inside, never by the name. Processing runs ONE ffmpeg per
//! track: the original is decoded once and split into every encoder of the ladder (two AAC and
//! two Opus HLS variants, the MP3, the preview) plus a raw PCM branch on stdout, from which Veza
//! measures loudness and draws the waveform as ffmpeg goes. Progress comes from `-progress` on
//! stderr; an ffmpeg that stops reporting is killed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use veza_core::catalog::media::{MediaError, MediaPipeline, ObjectStore, Probe, Processed, ProgressReport};
use veza_core::catalog::renditions::{
    self, Rendition, AAC_LADDER, COVER_FILE, COVER_MAX_PX, MP3_KBPS, OPUS_LADDER, PREVIEW_SECS, SEGMENT_SECS,
};
use veza_core::catalog::track::{AudioFormat, FileTags};
use veza_core::id::TrackId;

use crate::analysis::{self, Analysis};
use crate::playlist;

/// ffprobe reads headers, not the whole file: anything slower is a hostile file.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);
/// Renditions' files stored at once (S3 round trips overlap; local links are quick anyway).
const UPLOADS_AT_ONCE: usize = 8;
/// The PCM branch's pipe, and the pieces the analysis reads it in.
const PCM_PIPE_BYTES: usize = 1024 * 1024;
/// Lines of ffmpeg's error output kept to explain a failure.
const ERROR_LINES: usize = 8;
/// A decode this much shorter than the header's duration means a truncated file.
const TRUNCATION_TOLERANCE: f64 = 0.9;

#[derive(Debug, Clone)]
pub struct FfmpegConfig {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    /// Where each processing run gets a scratch folder (removed after the run).
    pub work_dir: PathBuf,
    /// ffmpeg is killed when it reports no progress for this long.
    pub stall_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct Ffmpeg {
    config: FfmpegConfig,
    store: Arc<dyn ObjectStore>,
}

impl Ffmpeg {
    /// Checks that ffmpeg and ffprobe run and have the encoders the ladder needs; returns
    /// ffmpeg's version line.
    pub async fn new(config: FfmpegConfig, store: Arc<dyn ObjectStore>) -> Result<(Self, String), String> {
        let run = |tool: &Path, args: &'static [&'static str]| {
            let tool = tool.to_owned();
            async move {
                let out = Command::new(&tool).args(args).stdin(Stdio::null()).output().await.map_err(|e| {
                    format!("cannot run {}: {e}; install ffmpeg (Debian: apt-get install ffmpeg) or set VEZA_FFMPEG/VEZA_FFPROBE", tool.display())
                })?;
                Ok::<_, String>(String::from_utf8_lossy(&out.stdout).into_owned())
            }
        };
        let version = run(&config.ffmpeg, &["-hide_banner", "-version"]).await?;
        run(&config.ffprobe, &["-hide_banner", "-version"]).await?;
        let encoders = run(&config.ffmpeg, &["-hide_banner", "-encoders"]).await?;
        for needed in ["aac", "libopus", "libmp3lame"] {
            if !encoders.split_whitespace().any(|w| w == needed) {
                return Err(format!(
                    "{} has no `{needed}` encoder; Debian's ffmpeg package has it",
                    config.ffmpeg.display()
                ));
            }
        }
        std::fs::create_dir_all(&config.work_dir)
            .map_err(|e| format!("cannot create the work directory {}: {e}", config.work_dir.display()))?;
        let line = version.lines().next().unwrap_or("ffmpeg").to_owned();
        Ok((Self { config, store }, line))
    }
}

#[derive(Deserialize)]
struct ProbeOutput {
    #[serde(default)]
    streams: Vec<ProbeStream>,
    format: Option<ProbeFormat>,
}

#[derive(Deserialize)]
struct ProbeStream {
    codec_type: Option<String>,
    codec_name: Option<String>,
    sample_rate: Option<String>,
    channels: Option<u32>,
    duration: Option<String>,
    #[serde(default)]
    disposition: std::collections::HashMap<String, i64>,
    #[serde(default)]
    tags: std::collections::HashMap<String, String>,
}

#[derive(Deserialize)]
struct ProbeFormat {
    format_name: String,
    duration: Option<String>,
    #[serde(default)]
    tags: std::collections::HashMap<String, String>,
}

const ACCEPTED: &str = "MP3, AAC/M4A, FLAC, WAV, AIFF, Ogg Vorbis or Opus";

fn format_of(container: &str, codec: &str) -> Option<AudioFormat> {
    let has = |name: &str| container.split(',').any(|c| c == name);
    Some(match codec {
        "mp3" if has("mp3") => AudioFormat::Mp3,
        "aac" | "alac" if has("mp4") || has("m4a") || has("mov") => AudioFormat::M4a,
        "flac" if has("flac") => AudioFormat::Flac,
        c if c.starts_with("pcm_") && has("wav") => AudioFormat::Wav,
        c if c.starts_with("pcm_") && has("aiff") => AudioFormat::Aiff,
        "vorbis" if has("ogg") => AudioFormat::Vorbis,
        "opus" if has("ogg") => AudioFormat::Opus,
        _ => return None,
    })
}

fn tags_of(format: &ProbeFormat, stream: &ProbeStream, has_cover: bool) -> FileTags {
    let find = |names: &[&str]| {
        [&format.tags, &stream.tags].into_iter().find_map(|tags| {
            tags.iter().find(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n))).map(|(_, v)| v.clone())
        })
    };
    let year = find(&["date", "year", "TDRC", "TYER"])
        .and_then(|d| d.get(..4).and_then(|y| y.parse::<i32>().ok()))
        .filter(|y| (1000..=9999).contains(y));
    FileTags {
        title: find(&["title"]),
        artist: find(&["artist", "album_artist"]),
        album: find(&["album"]),
        year,
        has_cover,
    }
}

fn seconds_to_ms(s: Option<&str>) -> Option<u64> {
    s.and_then(|s| s.parse::<f64>().ok()).filter(|d| d.is_finite() && *d > 0.0).map(|d| (d * 1000.0).round() as u64)
}

/// The last few meaningful lines of ffmpeg's error output.
fn tail(lines: &[String]) -> String {
    let text = lines.join("; ");
    if text.is_empty() {
        "no error output".into()
    } else {
        text
    }
}

#[async_trait]
impl MediaPipeline for Ffmpeg {
    async fn probe(&self, file: &Path) -> Result<Probe, MediaError> {
        let run = Command::new(&self.config.ffprobe)
            .args(["-v", "error", "-print_format", "json", "-show_format", "-show_streams", "-i"])
            .arg(file)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(PROBE_TIMEOUT, run)
            .await
            .map_err(|_| {
                MediaError::Unsupported("the file could not be read in time; it is not audio Veza can use".into())
            })?
            .map_err(|e| MediaError::Tool(format!("cannot run ffprobe: {e}")))?;
        let parsed: Option<ProbeOutput> = serde_json::from_slice(&out.stdout).ok();
        let Some(probe) = parsed.filter(|p| out.status.success() && p.format.is_some()) else {
            return Err(MediaError::Unsupported(format!("this is not an audio file Veza can read; upload {ACCEPTED}")));
        };
        let format = probe.format.as_ref().expect("checked");
        if probe.streams.iter().any(|s| {
            s.codec_type.as_deref() == Some("video") && s.disposition.get("attached_pic").copied().unwrap_or(0) == 0
        }) {
            return Err(MediaError::Unsupported("this file holds video; upload the audio only".into()));
        }
        let has_cover = probe.streams.iter().any(|s| s.disposition.get("attached_pic").copied().unwrap_or(0) == 1);
        let Some(audio) = probe.streams.iter().find(|s| s.codec_type.as_deref() == Some("audio")) else {
            return Err(MediaError::Unsupported(format!("this file has no audio; upload {ACCEPTED}")));
        };
        let codec = audio.codec_name.as_deref().unwrap_or("unknown");
        let accepted = format_of(&format.format_name, codec).ok_or_else(|| {
            MediaError::Unsupported(format!(
                "{} with {codec} audio is not accepted; upload {ACCEPTED}",
                format.format_name
            ))
        })?;
        let duration_ms = seconds_to_ms(format.duration.as_deref())
            .or_else(|| seconds_to_ms(audio.duration.as_deref()))
            .ok_or_else(|| MediaError::Undecodable("the file's duration cannot be read; it may be truncated".into()))?;
        let sample_rate = audio.sample_rate.as_deref().and_then(|r| r.parse().ok()).unwrap_or(0);
        let channels = audio.channels.unwrap_or(0);
        if sample_rate == 0 || channels == 0 {
            return Err(MediaError::Undecodable("the audio stream has no sample rate or channels".into()));
        }
        Ok(Probe { format: accepted, duration_ms, sample_rate, channels, tags: tags_of(format, audio, has_cover) })
    }

    async fn process(
        &self,
        track: TrackId,
        original_key: &str,
        expected_duration_ms: u64,
        has_cover: bool,
        progress: &dyn ProgressReport,
    ) -> Result<Processed, MediaError> {
        let work = WorkDir::create(&self.config.work_dir, track)?;
        let original = work.path.join("original");
        self.store.fetch_to_file(original_key, &original).await?;
        let out = work.path.join("out");
        let started = std::time::Instant::now();
        let measured = self.transcode(&original, &out, expected_duration_ms, progress).await?;
        let transcoded = started.elapsed();
        if has_cover {
            self.extract_cover(track, &original, &out.join(Rendition::Cover.as_str())).await;
        }
        // Masters over the measured variants, then the waveform files.
        for (rendition, ladder, codecs) in
            [(Rendition::HlsAac, &AAC_LADDER, "mp4a.40.2"), (Rendition::HlsOpus, &OPUS_LADDER, "Opus")]
        {
            let dir = out.join(rendition.as_str());
            let variants = ladder
                .iter()
                .map(|kbps| playlist::measure_variant(&dir, &format!("{kbps}k")))
                .collect::<std::io::Result<Vec<_>>>()
                .map_err(|e| MediaError::Tool(format!("reading ffmpeg's playlists: {e}")))?;
            std::fs::write(dir.join("master.m3u8"), playlist::master(codecs, &variants))
                .map_err(|e| MediaError::Tool(format!("writing a master playlist: {e}")))?;
        }
        self.upload(track, &out).await?;
        self.store.put_bytes(&renditions::waveform_key(track, false), measured.waveform).await?;
        self.store.put_bytes(&renditions::waveform_key(track, true), measured.summary).await?;
        tracing::info!(
            track = %track,
            transcode_ms = transcoded.as_millis() as u64,
            store_ms = (started.elapsed() - transcoded).as_millis() as u64,
            "renditions stored"
        );
        Ok(Processed { duration_ms: measured.duration_ms, loudness: measured.loudness })
    }
}

impl Ffmpeg {
    /// Runs the ladder into `out`, analysing the PCM branch as it streams.
    async fn transcode(
        &self,
        original: &Path,
        out: &Path,
        expected_ms: u64,
        progress: &dyn ProgressReport,
    ) -> Result<analysis::Measured, MediaError> {
        let mut args: Vec<String> = ["-nostdin", "-hide_banner", "-v", "error", "-i"].map(String::from).to_vec();
        args.push(original.display().to_string());
        let outputs = 2 * AAC_LADDER.len() + 2 + 1; // HLS variants, MP3, preview, PCM
        let labels: Vec<String> = (0..outputs).map(|i| format!("[o{i}]")).collect();
        args.extend(["-filter_complex".into(), format!("[0:a:0]asplit={outputs}{}", labels.concat())]);
        let mut label = labels.iter();
        let mut hls = |rendition: Rendition,
                       codec: &str,
                       kbps: u32,
                       rate: u32,
                       args: &mut Vec<String>|
         -> Result<(), MediaError> {
            let dir = out.join(rendition.as_str()).join(format!("{kbps}k"));
            std::fs::create_dir_all(&dir).map_err(|e| MediaError::Tool(format!("work directory: {e}")))?;
            args.extend(["-map".into(), label.next().expect("one label per output").clone()]);
            if codec == "libopus" {
                // Constant bit rate: the ladder's rungs are promises a player plans bandwidth by.
                args.extend(["-vbr".into(), "off".into()]);
            }
            args.extend([
                "-c:a".into(),
                codec.into(),
                "-b:a".into(),
                format!("{kbps}k"),
                "-ar".into(),
                rate.to_string(),
                "-ac".into(),
                "2".into(),
                "-map_metadata".into(),
                "-1".into(),
                "-f".into(),
                "hls".into(),
                "-hls_time".into(),
                SEGMENT_SECS.to_string(),
                "-hls_playlist_type".into(),
                "vod".into(),
                "-hls_segment_type".into(),
                "fmp4".into(),
                "-hls_flags".into(),
                "independent_segments".into(),
                "-hls_fmp4_init_filename".into(),
                "init.mp4".into(),
                "-hls_segment_filename".into(),
                dir.join("seg_%03d.m4s").display().to_string(),
                dir.join("index.m3u8").display().to_string(),
            ]);
            Ok(())
        };
        // AAC at 44.1 kHz (what most AAC decoders expect), Opus at 48 kHz (the only rate it has).
        for kbps in AAC_LADDER {
            hls(Rendition::HlsAac, "aac", kbps, 44_100, &mut args)?;
        }
        for kbps in OPUS_LADDER {
            hls(Rendition::HlsOpus, "libopus", kbps, 48_000, &mut args)?;
        }
        for (rendition, limit) in [(Rendition::Mp3, None), (Rendition::Preview, Some(PREVIEW_SECS))] {
            let dir = out.join(rendition.as_str());
            std::fs::create_dir_all(&dir).map_err(|e| MediaError::Tool(format!("work directory: {e}")))?;
            let file = if limit.is_some() { "preview.mp3".to_string() } else { format!("{MP3_KBPS}k.mp3") };
            args.extend(["-map".into(), label.next().expect("label").clone()]);
            if let Some(secs) = limit {
                args.extend(["-t".into(), secs.to_string()]);
            }
            // CBR (libmp3lame's mode with -b:a) with the Xing/LAME header players seek by.
            args.extend([
                "-c:a".into(),
                "libmp3lame".into(),
                "-b:a".into(),
                format!("{MP3_KBPS}k"),
                "-ar".into(),
                "44100".into(),
                "-write_xing".into(),
                "1".into(),
                "-id3v2_version".into(),
                "3".into(),
                "-map_metadata".into(),
                "-1".into(),
                dir.join(file).display().to_string(),
            ]);
        }
        args.extend([
            "-map".into(),
            label.next().expect("label").clone(),
            "-ac".into(),
            analysis::CHANNELS.to_string(),
            "-ar".into(),
            analysis::SAMPLE_RATE.to_string(),
            "-c:a".into(),
            "pcm_f32le".into(),
            "-f".into(),
            "f32le".into(),
            "pipe:1".into(),
        ]);
        args.extend(["-progress".into(), "pipe:2".into()]);
        // The exact command, for debugging (and for the benchmark, which runs it bare).
        tracing::debug!(ffmpeg = %self.config.ffmpeg.display(), args = %serde_json::to_string(&args).unwrap_or_default(), "transcoding");

        let mut child = Command::new(&self.config.ffmpeg)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| MediaError::Tool(format!("cannot start ffmpeg: {e}")))?;
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");

        // The PCM branch must be drained as fast as ffmpeg writes it, or every encoder stalls:
        // a 1 MiB pipe absorbs the moments the analysis falls behind, and the analysis reads
        // it on a thread of its own, in large pieces, away from the runtime's workers.
        let stdout = stdout.into_owned_fd().map_err(|e| MediaError::Tool(format!("ffmpeg's output pipe: {e}")))?;
        if let Err(e) = rustix::pipe::fcntl_setpipe_size(&stdout, PCM_PIPE_BYTES) {
            tracing::debug!(error = %e, "the PCM pipe keeps its default size");
        }
        let analyse = tokio::task::spawn_blocking(move || {
            use std::io::Read;
            let mut pcm = std::fs::File::from(stdout);
            let mut analysis = Analysis::new()?;
            let mut buf = vec![0u8; PCM_PIPE_BYTES];
            loop {
                let n = pcm.read(&mut buf).map_err(|e| e.to_string())?;
                if n == 0 {
                    break;
                }
                analysis.feed(&buf[..n])?;
            }
            analysis.finish()
        });

        let mut lines = BufReader::new(stderr).lines();
        let mut errors: Vec<String> = Vec::new();
        loop {
            let line = match tokio::time::timeout(self.config.stall_timeout, lines.next_line()).await {
                Err(_) => {
                    let _ = child.kill().await;
                    return Err(MediaError::Tool(format!(
                        "ffmpeg reported no progress for {} s and was stopped",
                        self.config.stall_timeout.as_secs()
                    )));
                }
                Ok(Ok(Some(line))) => line,
                Ok(Ok(None)) => break,
                Ok(Err(e)) => return Err(MediaError::Tool(format!("reading ffmpeg's output: {e}"))),
            };
            if let Some(us) = line.strip_prefix("out_time_us=").and_then(|v| v.trim().parse::<u64>().ok()) {
                let percent = (us / 1000).saturating_mul(100).checked_div(expected_ms).unwrap_or(0);
                progress.report(percent.min(99) as u8).await;
            } else if !line.contains('=') && !line.trim().is_empty() {
                if errors.len() == ERROR_LINES {
                    errors.remove(0);
                }
                errors.push(line.trim().to_owned());
            }
        }
        let status = child.wait().await.map_err(|e| MediaError::Tool(format!("waiting for ffmpeg: {e}")))?;
        let measured = analyse.await.map_err(|e| MediaError::Tool(format!("analysis task: {e}")))?;
        if !status.success() {
            let why = tail(&errors);
            return Err(match status.code() {
                // Killed by a signal: not the file's fault; the job is retried.
                None => MediaError::Tool(format!("ffmpeg crashed ({status}): {why}")),
                Some(_) if is_decode_error(&why) => {
                    MediaError::Undecodable(format!("the audio cannot be decoded: {why}"))
                }
                Some(_) => MediaError::Tool(format!("ffmpeg failed ({status}): {why}")),
            });
        }
        let measured = measured.map_err(|e| MediaError::Tool(format!("analysing the audio: {e}")))?;
        if measured.duration_ms == 0 {
            return Err(MediaError::Undecodable(format!("no audio could be decoded: {}", tail(&errors))));
        }
        if (measured.duration_ms as f64) < expected_ms as f64 * TRUNCATION_TOLERANCE {
            return Err(MediaError::Undecodable(format!(
                "the file is truncated: it decodes to {:.1} s of the {:.1} s its header announces",
                measured.duration_ms as f64 / 1000.0,
                expected_ms as f64 / 1000.0
            )));
        }
        Ok(measured)
    }

    /// Stores everything under `out`, segments and files before playlists, so no stored
    /// playlist ever names a file that is not there yet.
    /// The file's cover art, re-encoded (a hostile image is never served as it came) as a JPEG
    /// that fits [`COVER_MAX_PX`] square. A picture ffmpeg cannot read leaves the track without
    /// a cover rather than failing it.
    async fn extract_cover(&self, track: TrackId, original: &Path, dir: &Path) {
        let scale =
            format!("scale='min({COVER_MAX_PX},iw)':'min({COVER_MAX_PX},ih)':force_original_aspect_ratio=decrease");
        let file = dir.join(COVER_FILE);
        let run = async {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            let out = Command::new(&self.config.ffmpeg)
                .args(["-nostdin", "-hide_banner", "-v", "error", "-i"])
                .arg(original)
                .args(["-map", "0:v:0", "-frames:v", "1", "-vf", &scale, "-pix_fmt", "yuvj420p"])
                .args(["-c:v", "mjpeg", "-q:v", "3", "-f", "image2", "-y"])
                .arg(&file)
                .stdin(Stdio::null())
                .kill_on_drop(true)
                .output();
            let out = tokio::time::timeout(PROBE_TIMEOUT, out).await.map_err(|_| "timed out".to_string())?;
            let out = out.map_err(|e| e.to_string())?;
            if out.status.success() && file.exists() {
                Ok(())
            } else {
                Err(String::from_utf8_lossy(&out.stderr).lines().take(ERROR_LINES).collect::<Vec<_>>().join("; "))
            }
        };
        if let Err(why) = run.await {
            tracing::warn!(track = %track, reason = %why, "the file's cover art cannot be read; the track has none");
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    /// Stores everything under `out`, several files at a time, in three waves: segments and
    /// files, then variant playlists, then masters, so that no playlist is ever stored before
    /// what it names.
    async fn upload(&self, track: TrackId, out: &Path) -> Result<(), MediaError> {
        use futures_util::{StreamExt, TryStreamExt};
        let mut files = Vec::new();
        collect_files(out, &mut files).map_err(|e| MediaError::Tool(format!("listing renditions: {e}")))?;
        let prefix = veza_core::catalog::track::Track::storage_prefix(track);
        let mut waves: [Vec<(String, PathBuf)>; 3] = Default::default();
        for file in files {
            let relative = file.strip_prefix(out).expect("under out").to_string_lossy().replace('\\', "/");
            let wave = match file.file_name().and_then(|n| n.to_str()) {
                Some("master.m3u8") => 2,
                Some(n) if n.ends_with(".m3u8") => 1,
                _ => 0,
            };
            waves[wave].push((format!("{prefix}{relative}"), file));
        }
        for wave in waves {
            let store = self.store.clone();
            futures_util::stream::iter(wave)
                .map(move |(key, file)| {
                    let store = store.clone();
                    async move { store.put_file(&key, &file).await }
                })
                .buffer_unordered(UPLOADS_AT_ONCE)
                .try_collect::<()>()
                .await?;
        }
        Ok(())
    }
}

fn is_decode_error(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    ["invalid data", "error while decoding", "could not find codec", "truncat", "end of file", "invalid argument"]
        .iter()
        .any(|m| text.contains(m))
}

fn collect_files(dir: &Path, into: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, into)?;
        } else {
            into.push(path);
        }
    }
    Ok(())
}

/// A run's scratch folder, removed however the run ends.
struct WorkDir {
    path: PathBuf,
}

impl WorkDir {
    fn create(root: &Path, track: TrackId) -> Result<Self, MediaError> {
        let path = root.join(format!("track-{track}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path); // a previous run of this process that died
        std::fs::create_dir_all(&path)
            .map_err(|e| MediaError::Tool(format!("work directory {}: {e}", path.display())))?;
        Ok(Self { path })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            tracing::warn!(dir = %self.path.display(), error = %e, "could not remove a work directory");
        }
    }
}
