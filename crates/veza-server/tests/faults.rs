//! Faults over real processes: nodes killed with SIGKILL in the middle of their work. Each
//! test says what it proves.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use veza_testkit::db::{Backend, TestDb};
use veza_testkit::gateway::GatewayClient;
use veza_testkit::media::{files_under, make_audio, upload, wait_processed, Form};
use veza_testkit::on_both_databases;
use veza_testkit::server::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_veza");

fn access(body: &Value) -> String {
    body["tokens"]["access_token"].as_str().expect("access token").to_string()
}

/// An ffmpeg that notes each processing run in `runs` under `tag`, with `extra` arguments.
fn ffmpeg_wrapper(dir: &Path, tag: &str, runs: &Path, extra: &str) -> String {
    let path = dir.join(format!("ffmpeg-{tag}"));
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\ncase \"$*\" in *-version*|*-encoders*) exec ffmpeg \"$@\";; esac\n\
             echo {tag} >> '{r}'\nexec ffmpeg {extra} \"$@\"\n",
            r = runs.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    path.to_str().unwrap().to_string()
}

/// Proves: a node killed mid-transcode (ffmpeg running, its lease held and renewed) leaves the
/// job to another node once the lease lapses, and the track is finished once, by that node:
/// one more ffmpeg run, as the job's second attempt, one "track ready", announced once, and
/// playable from the shared store. On SQLite the second node opens the same database file
/// after the first died (one writer at a time, as the embedded default is run).
async fn a_node_killed_mid_transcode_leaves_the_job_to_another(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (runs, store) = (dir.path().join("runs"), dir.path().join("media"));
    // Node A transcodes at the audio's own pace (-re), so it is still at it when killed; after
    // the kill its ffmpeg dies on its broken output pipe.
    let slow = ffmpeg_wrapper(dir.path(), "a", &runs, "-re");
    let fast = ffmpeg_wrapper(dir.path(), "b", &runs, "");
    let store_url = format!("file://{}", store.display());
    let common = [
        ("VEZA_JOB_LEASE_SECS", "4"),
        ("VEZA_TRANSCODE_CONCURRENCY", "1"),
        ("VEZA_PUBLIC_URL", "http://cluster.test"),
        ("VEZA_STORAGE_URL", store_url.as_str()),
        ("VEZA_MEDIA_CACHE_MB", "0"),
    ];
    let env_a: Vec<_> = common.iter().copied().chain([("VEZA_FFMPEG", slow.as_str()), ("VEZA_NODE_ID", "1")]).collect();
    let env_b: Vec<_> = common.iter().copied().chain([("VEZA_FFMPEG", fast.as_str()), ("VEZA_NODE_ID", "2")]).collect();
    let mut a = TestServer::start_with(BIN, TestDb::new(backend).await, &env_a).await;
    let token = access(&a.register("artist").await);
    let audio = dir.path().join("long.flac");
    make_audio(&audio, 12.0, &["-c:a", "flac"]);
    let (status, track) =
        upload(&a, &token, Form::new().file("file", "long.flac", &std::fs::read(&audio).unwrap())).await;
    assert_eq!(status, 201, "{track}");
    let id = track["id"].as_str().unwrap().to_string();
    // Mid-transcode: A's ffmpeg has reported progress.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, t) = a.get(&format!("/api/v1/tracks/{id}"), Some(&token)).await;
        if t["progress"].as_u64().is_some_and(|p| p > 0) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "A never reported progress: {t}\n{}", a.log_text());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.kill();

    let b = a.start_node(&env_b).await;
    let mut owner = GatewayClient::connect(&b.base).await;
    owner.identify(&token).await;
    let t = wait_processed(&b, &token, &id, Duration::from_secs(90)).await;
    assert_eq!((t["state"].as_str(), t["progress"].as_u64()), (Some("ready"), Some(100)), "{t}\n{}", b.log_text());
    let duration = t["duration_ms"].as_u64().unwrap();
    assert!(duration.abs_diff(12_000) < 100, "{duration}");
    let (update, _) = owner.until("TRACK_UPDATE").await;
    assert_eq!(update["state"], "ready", "{update}");
    assert_eq!(std::fs::read_to_string(&runs).unwrap().lines().collect::<Vec<_>>(), ["a", "b"], "one run per node");
    let log = b.log_text();
    assert_eq!(log.matches("processing a track").count(), 1, "{log}");
    assert!(log.contains("\"attempt\":2"), "the job's second attempt: {log}");
    assert_eq!(log.matches("track ready").count(), 1, "{log}");
    for bad in ["will retry", "taken over", "lost the job's lease"] {
        assert!(!log.contains(bad), "{bad}: {log}");
    }
    // Playable: the stream's master playlist and its first segment come from the shared store.
    let (status, stream) = b.get(&format!("/api/v1/tracks/{id}/stream"), Some(&token)).await;
    assert_eq!(status, 200, "{stream}");
    let master = stream["hls_aac"].as_str().unwrap_or_else(|| panic!("no AAC master in {stream}"));
    let path = master.strip_prefix("http://cluster.test").unwrap_or_else(|| panic!("{master}"));
    let res = b.client.get(b.url(path)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().starts_with("#EXTM3U"));
    assert_eq!(files_under(&b.data_dir().join("work")), Vec::<String>::new(), "no scratch files left");
}

on_both_databases!(a_node_killed_mid_transcode_leaves_the_job_to_another);
