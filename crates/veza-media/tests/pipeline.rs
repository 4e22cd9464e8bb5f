//! The pipeline against Debian's real ffmpeg, on audio made here: every accepted format probes
//! as itself, every rendition checks out under ffprobe (codec, sample rate, bit rate within
//! 10 %, duration within 0.1 s), and bad files are refused or fail with a reason.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use veza_core::catalog::media::{MediaError, MediaPipeline, ObjectStore, ProgressReport};
use veza_core::catalog::track::AudioFormat;
use veza_core::id::TrackId;
use veza_media::{Ffmpeg, FfmpegConfig, Storage};

/// Seconds of test audio: long enough for two full 6-second segments and a partial one.
const SECONDS: f64 = 14.0;

#[derive(Default)]
struct Reports(Mutex<Vec<u8>>);

#[async_trait]
impl ProgressReport for Reports {
    async fn report(&self, percent: u8) {
        self.0.lock().unwrap().push(percent);
    }
}

struct Rig {
    dir: tempfile::TempDir,
    store: Storage,
    ffmpeg: Ffmpeg,
}

async fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let store = Storage::from_url("", dir.path()).unwrap();
    let config = FfmpegConfig {
        ffmpeg: "ffmpeg".into(),
        ffprobe: "ffprobe".into(),
        work_dir: dir.path().join("work"),
        stall_timeout: Duration::from_secs(60),
    };
    let (ffmpeg, _) =
        Ffmpeg::new(config, Arc::new(store.clone())).await.expect("ffmpeg is installed (scripts/test installs it)");
    Rig { dir, store, ffmpeg }
}

fn make_audio(file: &Path, codec_args: &[&str]) {
    veza_testkit::media::make_audio(file, SECONDS, codec_args);
}

fn ffprobe(file: &Path) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-print_format", "json", "-show_format", "-show_streams"])
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn samples() -> Vec<(&'static str, Vec<&'static str>, AudioFormat)> {
    vec![
        ("a.mp3", vec!["-c:a", "libmp3lame", "-b:a", "192k"], AudioFormat::Mp3),
        ("a.m4a", vec!["-c:a", "aac", "-b:a", "128k"], AudioFormat::M4a),
        ("a.flac", vec!["-c:a", "flac"], AudioFormat::Flac),
        ("a.wav", vec!["-c:a", "pcm_s16le"], AudioFormat::Wav),
        ("a.aiff", vec!["-c:a", "pcm_s16be"], AudioFormat::Aiff),
        ("a.ogg", vec!["-c:a", "libvorbis", "-q:a", "4"], AudioFormat::Vorbis),
        ("a.opus", vec!["-c:a", "libopus", "-b:a", "96k", "-ar", "48000"], AudioFormat::Opus),
    ]
}

#[tokio::test]
async fn every_accepted_format_probes_as_itself_by_content() {
    let r = rig().await;
    for (name, args, format) in samples() {
        let file = r.dir.path().join(name);
        make_audio(&file, &args);
        // The name says nothing: the same bytes under a misleading one probe the same.
        let renamed = r.dir.path().join(format!("{name}.txt"));
        std::fs::rename(&file, &renamed).unwrap();
        let probe = r.ffmpeg.probe(&renamed).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(probe.format, format, "{name}");
        assert!((probe.duration_ms as f64 - SECONDS * 1000.0).abs() < 100.0, "{name}: {}", probe.duration_ms);
        assert_eq!(probe.channels, 2, "{name}");
        // ffmpeg's WAV muxer writes no tags and its AIFF muxer only some.
        if !matches!(format, AudioFormat::Wav) {
            assert_eq!(probe.tags.title.as_deref(), Some("Test Tone"), "{name}");
        }
        if !matches!(format, AudioFormat::Wav | AudioFormat::Aiff) {
            assert_eq!(probe.tags.artist.as_deref(), Some("The Oscillators"), "{name}");
            assert_eq!(probe.tags.year, Some(2021), "{name}");
        }
    }
}

#[tokio::test]
async fn text_video_and_other_formats_are_refused() {
    let r = rig().await;
    let text = r.dir.path().join("song.mp3");
    std::fs::write(&text, "this is not audio, whatever its name says\n".repeat(100)).unwrap();
    assert!(matches!(r.ffmpeg.probe(&text).await, Err(MediaError::Unsupported(_))));
    let empty = r.dir.path().join("empty.flac");
    std::fs::write(&empty, b"").unwrap();
    let refused = r.ffmpeg.probe(&empty).await;
    assert!(matches!(refused, Err(MediaError::Unsupported(_) | MediaError::Undecodable(_))), "{refused:?}");
    let mka = r.dir.path().join("a.mka");
    make_audio(&mka, &["-c:a", "flac"]);
    let refused = r.ffmpeg.probe(&mka).await;
    assert!(matches!(&refused, Err(MediaError::Unsupported(m)) if m.contains("not accepted")), "{refused:?}");
}

#[tokio::test]
async fn the_ladder_is_made_from_one_decode_and_checks_out_under_ffprobe() {
    let r = rig().await;
    let track = TrackId(42);
    let source = r.dir.path().join("in.flac");
    make_audio(&source, &["-c:a", "flac"]);
    let key = "tracks/42/original/original.flac";
    r.store.put_file(key, &source).await.unwrap();
    let reports = Reports::default();
    let done = r.ffmpeg.process(track, key, (SECONDS * 1000.0) as u64, false, &reports).await.expect("processed");
    assert!((done.duration_ms as f64 - SECONDS * 1000.0).abs() < 100.0, "{}", done.duration_ms);
    assert!(done.loudness.integrated_lufs < -5.0 && done.loudness.integrated_lufs > -30.0, "{:?}", done.loudness);
    assert!(!reports.0.lock().unwrap().is_empty(), "progress was reported");
    assert!(!r.dir.path().join("work").read_dir().unwrap().any(|_| true), "the work folder is cleaned up");

    let media = r.dir.path().join("media/tracks/42");
    let check = |file: PathBuf, codec: &str, rate: u64, kbps: Option<u64>, seconds: f64| {
        let probe = ffprobe(&file);
        let stream = &probe["streams"][0];
        assert_eq!(stream["codec_name"], codec, "{}", file.display());
        assert_eq!(stream["sample_rate"].as_str().unwrap().parse::<u64>().unwrap(), rate, "{}", file.display());
        let duration: f64 = probe["format"]["duration"].as_str().unwrap().parse().unwrap();
        assert!((duration - seconds).abs() <= 0.1, "{}: {duration} s", file.display());
        if let Some(kbps) = kbps {
            let size = std::fs::metadata(&file).unwrap().len() as f64 * 8.0 / 1000.0;
            let measured = size / duration;
            assert!(
                (measured - kbps as f64).abs() <= kbps as f64 * 0.1,
                "{}: {measured:.1} kb/s for {kbps}",
                file.display()
            );
        }
    };
    check(media.join("mp3/128k.mp3"), "mp3", 44_100, Some(128), SECONDS);
    check(media.join("preview/preview.mp3"), "mp3", 44_100, Some(128), SECONDS.min(30.0));
    for (codec, name, rate, ladder) in [("aac", "aac", 44_100, [160u64, 96]), ("opus", "opus", 48_000, [96, 64])] {
        let master = std::fs::read_to_string(media.join(codec).join("master.m3u8")).unwrap();
        assert!(master.contains("#EXT-X-INDEPENDENT-SEGMENTS"), "{master}");
        let codecs = if codec == "aac" { "CODECS=\"mp4a.40.2\"" } else { "CODECS=\"Opus\"" };
        assert_eq!(master.matches(codecs).count(), 2, "{master}");
        for kbps in ladder {
            let variant = media.join(codec).join(format!("{kbps}k"));
            let playlist = std::fs::read_to_string(variant.join("index.m3u8")).unwrap();
            assert!(playlist.contains("#EXT-X-TARGETDURATION:6") && playlist.contains("#EXT-X-MAP:URI=\"init.mp4\""));
            assert!(master.contains(&format!("{kbps}k/index.m3u8")));
            // The whole variant, init and segments joined, is what a player decodes.
            let joined = r.dir.path().join(format!("{codec}-{kbps}.mp4"));
            let mut bytes = std::fs::read(variant.join("init.mp4")).unwrap();
            for seg in playlist.lines().filter(|l| l.ends_with(".m4s")) {
                bytes.extend(std::fs::read(variant.join(seg)).unwrap());
            }
            std::fs::write(&joined, bytes).unwrap();
            check(joined, name, rate, Some(kbps), SECONDS);
        }
    }
    let waveform: serde_json::Value =
        serde_json::from_slice(&r.store.read("tracks/42/waveform/full.json").await.unwrap()).unwrap();
    assert_eq!((waveform["version"].as_i64(), waveform["bits"].as_i64()), (Some(2), Some(8)));
    let summary: serde_json::Value =
        serde_json::from_slice(&r.store.read("tracks/42/waveform/summary.json").await.unwrap()).unwrap();
    assert_eq!(summary["samples"].as_array().unwrap().len(), 1800);

    // Range reads return exactly the bytes asked for.
    use futures_util::TryStreamExt;
    use veza_core::catalog::media::ByteRange;
    let whole = std::fs::read(media.join("mp3/128k.mp3")).unwrap();
    let read = r.store.open("tracks/42/mp3/128k.mp3", Some(ByteRange::FromTo(100, 1099))).await.unwrap();
    assert_eq!(read.range, 100..1100);
    let body: Vec<u8> = read.body.map_ok(|b| b.to_vec()).try_concat().await.unwrap();
    assert_eq!(body, whole[100..1100]);
    // The local store lists what is under a prefix, as the core names it.
    let listed = r.store.list("tracks/42/mp3/").await.unwrap();
    assert_eq!(listed.iter().map(|l| l.key.as_str()).collect::<Vec<_>>(), ["tracks/42/mp3/128k.mp3"]);
    assert!(r.store.list("tracks/43/").await.unwrap().is_empty());
    r.store.delete_prefix("tracks/42/").await.unwrap();
    assert!(!media.exists() || std::fs::read_dir(&media).unwrap().next().is_none(), "deleted");
}

#[tokio::test]
async fn a_truncated_file_fails_with_a_reason_and_leaves_nothing_behind() {
    let r = rig().await;
    // FLAC's header states the total sample count, so the probe sees the whole 14 s.
    let source = r.dir.path().join("in.flac");
    make_audio(&source, &["-c:a", "flac"]);
    let bytes = std::fs::read(&source).unwrap();
    std::fs::write(&source, &bytes[..bytes.len() / 3]).unwrap();
    let probe = r.ffmpeg.probe(&source).await.expect("the header is intact");
    r.store.put_file("tracks/7/original/original.flac", &source).await.unwrap();
    let failed = r
        .ffmpeg
        .process(TrackId(7), "tracks/7/original/original.flac", probe.duration_ms, false, &Reports::default())
        .await;
    assert!(matches!(&failed, Err(MediaError::Undecodable(m)) if m.contains("truncated")), "{failed:?}");
    assert!(!r.dir.path().join("work").read_dir().unwrap().any(|_| true));
}

/// Cover art in the file's tags becomes a JPEG that fits 1200 pixels square; a file without
/// one gets none.
#[tokio::test]
async fn cover_art_is_extracted_as_a_bounded_jpeg() {
    let r = rig().await;
    let dir = r.dir.path();
    let plain = dir.join("plain.mp3");
    make_audio(&plain, &["-c:a", "libmp3lame", "-b:a", "128k"]);
    let tagged = dir.join("tagged.mp3");
    veza_testkit::media::make_audio_with_cover(&tagged, SECONDS);
    assert!(r.ffmpeg.probe(&tagged).await.unwrap().tags.has_cover);

    for (track, file, has_cover) in [(TrackId(51), &tagged, true), (TrackId(52), &plain, false)] {
        let key = format!("tracks/{track}/original/original.mp3");
        r.store.put_file(&key, file).await.unwrap();
        let probed = r.ffmpeg.probe(file).await.unwrap().tags.has_cover;
        assert_eq!(probed, has_cover, "the upload's probe decides");
        r.ffmpeg.process(track, &key, (SECONDS * 1000.0) as u64, probed, &Reports::default()).await.expect("processed");
        let cover = dir.join(format!("media/tracks/{track}/cover/cover.jpg"));
        assert_eq!(cover.exists(), has_cover, "{}", cover.display());
        if has_cover {
            let probe = ffprobe(&cover);
            let stream = &probe["streams"][0];
            assert_eq!(stream["codec_name"], "mjpeg");
            assert_eq!((stream["width"].as_u64(), stream["height"].as_u64()), (Some(1200), Some(675)));
        }
    }
}
