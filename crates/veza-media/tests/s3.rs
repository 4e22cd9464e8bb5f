//! The S3 adapter against a real S3-compatible server: `s3s-fs` (from the Rust package registry;
//! `scripts/test` installs it), started on a free port over a temporary folder.

use std::process::Command;
use std::time::Duration;

use futures_util::TryStreamExt;
use veza_core::catalog::media::{ByteRange, ObjectStore, StorageError};
use veza_media::Storage;
use veza_testkit::s3::S3Server;

#[tokio::test]
async fn the_s3_adapter_streams_ranges_deletes_and_presigns_against_a_real_server() {
    let server = S3Server::start().await;
    let url = server.storage_url("media");
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

    // Listing gives keys as the core names them (the URL's prefix taken off), with their times.
    let before = time::OffsetDateTime::now_utc() - time::Duration::minutes(5);
    let mut listed = store.list("tracks/").await.unwrap();
    listed.sort_by(|a, b| a.key.cmp(&b.key));
    let keys: Vec<&str> = listed.iter().map(|l| l.key.as_str()).collect();
    assert_eq!(keys, ["tracks/1/original/original.flac", "tracks/1/waveform/full.json", "tracks/2/waveform/full.json"]);
    assert!(listed.iter().all(|l| l.modified > before), "{listed:?}");
    assert_eq!(store.list("tracks/2/").await.unwrap().len(), 1);
    assert!(store.list("attachments/").await.unwrap().is_empty());

    store.delete_prefix("tracks/1/").await.unwrap();
    assert!(matches!(store.read("tracks/1/waveform/full.json").await, Err(StorageError::NotFound(_))));
    assert_eq!(store.read("tracks/2/waveform/full.json").await.unwrap(), b"{}", "other tracks stay");
}
