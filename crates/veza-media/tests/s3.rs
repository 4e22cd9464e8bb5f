//! The S3 adapter against a real S3-compatible server: `s3s-fs` (from the Rust package registry;
//! `scripts/test` installs it), started here on a free port over a temporary folder.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::TryStreamExt;
use veza_core::catalog::media::{ByteRange, ObjectStore, StorageError};
use veza_media::Storage;

struct S3Server {
    child: Child,
    port: u16,
    _root: tempfile::TempDir,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn s3s_fs() -> std::path::PathBuf {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from).unwrap_or_default();
    let installed = home.join(".cargo/bin/s3s-fs");
    if installed.exists() {
        installed
    } else {
        "s3s-fs".into()
    }
}

async fn start() -> S3Server {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("veza")).unwrap(); // the bucket
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(s3s_fs())
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--access-key",
            "veza",
            "--secret-key",
            "s3cret-key",
        ])
        .arg(root.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("s3s-fs is installed (scripts/test: cargo install s3s-fs@0.14.1 --features binary)");
    // Owned at once, so that a failed start still stops and reaps the process.
    let server = S3Server { child, port, _root: root };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("s3s-fs did not start listening on {port}");
}

#[tokio::test]
async fn the_s3_adapter_streams_ranges_deletes_and_presigns_against_a_real_server() {
    let server = start().await;
    let url = format!("s3://veza:s3cret-key@veza/media?endpoint=http://127.0.0.1:{}&region=us-east-1", server.port);
    let store = Storage::from_url(&url, std::path::Path::new("/nonexistent")).expect("valid URL");
    assert_eq!(store.describe(), "s3://veza/media/");

    // 20 MiB: more than two multipart parts.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.bin");
    let bytes: Vec<u8> = (0..20 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &bytes).unwrap();
    store.put_file("tracks/1/original/original.flac", &file).await.expect("multipart put");
    store.put_bytes("tracks/1/waveform/full.json", b"{\"version\":2}".to_vec()).await.unwrap();
    store.put_bytes("tracks/2/waveform/full.json", b"{}".to_vec()).await.unwrap();

    let copy = dir.path().join("copy.bin");
    store.fetch_to_file("tracks/1/original/original.flac", &copy).await.unwrap();
    assert!(std::fs::read(&copy).unwrap() == bytes, "the round trip keeps every byte");
    assert_eq!(store.read("tracks/1/waveform/full.json").await.unwrap(), b"{\"version\":2}");

    let read = store.open("tracks/1/original/original.flac", Some(ByteRange::Suffix(1000))).await.unwrap();
    assert_eq!(
        (read.info.size, read.range.clone()),
        (bytes.len() as u64, bytes.len() as u64 - 1000..bytes.len() as u64)
    );
    let tail: Vec<u8> = read.body.map_ok(|b| b.to_vec()).try_concat().await.unwrap();
    assert!(tail == bytes[bytes.len() - 1000..]);
    let past = store.open("tracks/1/original/original.flac", Some(ByteRange::From(bytes.len() as u64))).await;
    assert!(matches!(past, Err(StorageError::BadRange { .. })));
    assert!(matches!(store.read("tracks/9/none").await, Err(StorageError::NotFound(_))));

    // A presigned URL works for anyone, without credentials.
    let signed = store.presigned_get("tracks/1/waveform/full.json", Duration::from_secs(60)).await.unwrap();
    let signed = signed.expect("S3 presigns");
    let out = Command::new("curl").args(["-sf", &signed]).output().unwrap();
    assert!(out.status.success(), "GET {signed}");
    assert_eq!(out.stdout, b"{\"version\":2}");

    store.delete_prefix("tracks/1/").await.unwrap();
    assert!(matches!(store.read("tracks/1/waveform/full.json").await, Err(StorageError::NotFound(_))));
    assert_eq!(store.read("tracks/2/waveform/full.json").await.unwrap(), b"{}", "other tracks stay");
}
