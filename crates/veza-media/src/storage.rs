//! The object store behind the core's `ObjectStore` port, on the `object_store` crate: the local
//! filesystem under the data dir (the embedded default) or any S3-compatible store
//! (`s3://[key:secret@]bucket[/prefix]?endpoint=…&region=…`). Files move through it as streams,
//! never whole in memory.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::signer::Signer;
use object_store::{GetOptions, GetRange, ObjectStoreExt as _, PutPayload, WriteMultipart};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use veza_core::catalog::media::{ByteRange, Listed, ObjectInfo, ObjectRead, ObjectStore, StorageError};

/// Parts of a multipart upload: S3's minimum part size is 5 MiB; 8 MiB keeps a 500 MB upload
/// at ~60 parts with two in flight, so an upload holds at most ~24 MiB in memory.
const PART_SIZE: usize = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT: usize = 2;
/// Reads of local files go in pieces this large.
const READ_CHUNK: usize = 256 * 1024;

#[derive(Debug, Clone)]
enum Backend {
    Local(Arc<LocalFileSystem>),
    S3(Arc<AmazonS3>),
}

/// The configured store; cheap to clone.
#[derive(Debug, Clone)]
pub struct Storage {
    backend: Backend,
    /// Prepended to every key (an S3 URL's path), with its trailing slash.
    prefix: String,
    description: String,
    /// Small local files (segments, playlists) kept in memory once read, for the media route.
    cache: Option<moka::sync::Cache<String, Cached>>,
}

/// A whole small file as read, with its facts.
#[derive(Debug, Clone)]
struct Cached {
    bytes: bytes::Bytes,
    info: ObjectInfo,
}

/// A storage URL that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StorageConfigError(String);

impl Storage {
    /// The store `url` names: empty for `{data_dir}/media`, `file:///path`, or `s3://…`.
    pub fn from_url(url: &str, data_dir: &Path) -> Result<Self, StorageConfigError> {
        if url.is_empty() {
            return Self::local(&data_dir.join("media"));
        }
        let parsed = url::Url::parse(url).map_err(|e| StorageConfigError(format!("not a URL: {e}")))?;
        match parsed.scheme() {
            "file" => Self::local(Path::new(parsed.path())),
            "s3" => Self::s3(&parsed),
            other => Err(StorageConfigError(format!("unsupported storage scheme `{other}`: use file:// or s3://"))),
        }
    }

    fn local(dir: &Path) -> Result<Self, StorageConfigError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StorageConfigError(format!("cannot create the media directory {}: {e}", dir.display())))?;
        let fs = LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| StorageConfigError(format!("media directory {}: {e}", dir.display())))?
            .with_automatic_cleanup(true);
        Ok(Self {
            backend: Backend::Local(Arc::new(fs)),
            prefix: String::new(),
            description: dir.display().to_string(),
            cache: None,
        })
    }

    fn s3(url: &url::Url) -> Result<Self, StorageConfigError> {
        let bucket = url
            .host_str()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| StorageConfigError("s3:// URL without a bucket".into()))?;
        let mut builder = AmazonS3Builder::new().with_bucket_name(bucket).with_region("us-east-1");
        for (key, value) in url.query_pairs() {
            builder = match key.as_ref() {
                "endpoint" => builder
                    .with_endpoint(value.as_ref())
                    .with_allow_http(value.starts_with("http://"))
                    .with_virtual_hosted_style_request(false),
                "region" => builder.with_region(value.as_ref()),
                other => {
                    return Err(StorageConfigError(format!("unknown s3 URL parameter `{other}` (endpoint, region)")))
                }
            };
        }
        if !url.username().is_empty() {
            let decode = |s: &str| {
                url::form_urlencoded::parse(s.as_bytes()).map(|(k, _)| k.into_owned()).next().unwrap_or_default()
            };
            builder = builder
                .with_access_key_id(decode(url.username()))
                .with_secret_access_key(decode(url.password().unwrap_or_default()));
        }
        let s3 = builder.build().map_err(|e| StorageConfigError(format!("s3 storage: {e}")))?;
        let prefix = url.path().trim_matches('/');
        let prefix = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
        Ok(Self {
            backend: Backend::S3(Arc::new(s3)),
            description: format!("s3://{bucket}/{prefix}"),
            prefix,
            cache: None,
        })
    }

    /// Keeps up to `bytes` of small local files in memory once read (none for S3, whose
    /// segments players fetch from the store itself). Objects are immutable under their keys;
    /// this node's writes and deletes drop what they touch. 0 turns it off.
    pub fn with_read_cache(mut self, bytes: u64) -> Self {
        if bytes > 0 && matches!(self.backend, Backend::Local(_)) {
            self.cache = Some(
                moka::sync::Cache::builder()
                    .max_capacity(bytes)
                    .weigher(|key: &String, c: &Cached| {
                        u32::try_from(key.len() + c.bytes.len() + 128).unwrap_or(u32::MAX)
                    })
                    .support_invalidation_closures()
                    .build(),
            );
        }
        self
    }

    /// Where the store is, for the log (no credentials).
    pub fn describe(&self) -> &str {
        &self.description
    }

    fn store(&self) -> &dyn object_store::ObjectStore {
        match &self.backend {
            Backend::Local(s) => s.as_ref(),
            Backend::S3(s) => s.as_ref(),
        }
    }

    /// Drops `key` from the read cache (it is being written).
    fn forget(&self, key: &str) {
        if let Some(cache) = &self.cache {
            cache.invalidate(key);
        }
    }

    fn path(&self, key: &str) -> Result<ObjectPath, StorageError> {
        ObjectPath::parse(format!("{}{key}", self.prefix))
            .map_err(|e| StorageError::Unavailable(format!("bad storage key {key}: {e}")))
    }
}

/// A local object opened for the media route: small ones read whole, large ones to stream.
enum Opened {
    Whole(Cached),
    Large(std::fs::File, ObjectInfo),
}

/// Opens a local object faster than `object_store`'s generic reads (small pieces, a blocking
/// task each): one stat, then a small file read whole in one call. The entity tag has the same
/// makings as `object_store`'s (inode, modification time, size).
async fn open_local(key: &str, file: std::path::PathBuf) -> Result<Opened, StorageError> {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let key = key.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut f = std::fs::File::open(&file).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StorageError::NotFound(key.clone()),
            _ => io_failed("opening a media file", e),
        })?;
        let meta = f.metadata().map_err(|e| io_failed("reading a media file's size", e))?;
        if meta.is_dir() {
            return Err(StorageError::NotFound(key));
        }
        let size = meta.len();
        let mtime = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).unwrap_or_default();
        let info = ObjectInfo {
            size,
            last_modified: OffsetDateTime::from_unix_timestamp_nanos(mtime.as_nanos() as i128)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            etag: Some(format!("{:x}-{:x}-{size:x}", meta.ino(), mtime.as_micros())),
        };
        if size > WHOLE_READ_MAX {
            return Ok(Opened::Large(f, info));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        f.read_to_end(&mut bytes).map_err(|e| io_failed("reading a media file", e))?;
        let info = ObjectInfo { size: bytes.len() as u64, ..info };
        Ok(Opened::Whole(Cached { bytes: bytes::Bytes::from(bytes), info }))
    })
    .await
    .map_err(|e| StorageError::Unavailable(format!("reading a media file: {e}")))?
}

/// The part of a whole file in memory that `range` asks for.
fn from_memory(whole: Cached, range: Option<ByteRange>) -> Result<ObjectRead, StorageError> {
    let size = whole.info.size;
    let wanted = ByteRange::part_of(range, size)?;
    let part = whole.bytes.slice(wanted.start as usize..wanted.end as usize);
    let body = futures_util::stream::once(async move { Ok(part) }).boxed();
    Ok(ObjectRead { info: whole.info, range: wanted, body })
}

/// A large local file, or the part of it `range` asks for, in [`STREAM_CHUNK`] pieces.
fn stream_local(file: std::fs::File, info: ObjectInfo, range: Option<ByteRange>) -> Result<ObjectRead, StorageError> {
    use tokio::io::AsyncSeekExt;
    let size = info.size;
    let wanted = ByteRange::part_of(range, size)?;
    let (start, len) = (wanted.start, wanted.end - wanted.start);
    let file = tokio::fs::File::from_std(file);
    let body = futures_util::stream::try_unfold((file, len, true), move |(mut file, left, first)| async move {
        if first {
            file.seek(std::io::SeekFrom::Start(start)).await?;
        }
        if left == 0 {
            return Ok(None);
        }
        let mut chunk = vec![0u8; STREAM_CHUNK.min(left as usize)];
        let n = file.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the media file got shorter"));
        }
        chunk.truncate(n);
        Ok(Some((bytes::Bytes::from(chunk), (file, left - n as u64, false))))
    })
    .boxed();
    Ok(ObjectRead { info, range: wanted, body })
}

/// Local files up to this size are read whole, and cached (HLS segments are ~120 KB).
const WHOLE_READ_MAX: u64 = 1024 * 1024;
/// Larger ones stream in pieces of this size.
const STREAM_CHUNK: usize = 256 * 1024;

/// Hard-links `source` at `dest`, replacing what is there atomically (through a temporary link
/// beside it). Fails across filesystems, where the caller copies instead.
fn link_into_place(source: &Path, dest: &Path) -> std::io::Result<()> {
    static LINKS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dir = dest.parent().ok_or_else(|| std::io::Error::other("no parent folder"))?;
    std::fs::create_dir_all(dir)?;
    let n = LINKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temporary = dir.join(format!(".link-{}-{n}", std::process::id()));
    std::fs::hard_link(source, &temporary)?;
    std::fs::rename(&temporary, dest).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}

fn failed(key: &str, e: object_store::Error) -> StorageError {
    match e {
        object_store::Error::NotFound { .. } => StorageError::NotFound(key.to_owned()),
        other => StorageError::Unavailable(format!("{key}: {other}")),
    }
}

fn io_failed(what: &str, e: std::io::Error) -> StorageError {
    StorageError::Unavailable(format!("{what}: {e}"))
}

fn info_of(meta: &object_store::ObjectMeta) -> ObjectInfo {
    let micros = i128::from(meta.last_modified.timestamp_micros());
    ObjectInfo {
        size: meta.size,
        last_modified: OffsetDateTime::from_unix_timestamp_nanos(micros * 1000).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        etag: meta.e_tag.clone(),
    }
}

#[async_trait]
impl ObjectStore for Storage {
    async fn put_file(&self, key: &str, file: &Path) -> Result<(), StorageError> {
        let path = self.path(key)?;
        self.forget(key);
        // On the same filesystem a local store takes a hard link: no bytes copied, and the
        // caller may remove its file afterwards as it always does.
        if let Backend::Local(fs) = &self.backend {
            if let Ok(dest) = fs.path_to_filesystem(&path) {
                let source = file.to_owned();
                let linked = tokio::task::spawn_blocking(move || link_into_place(&source, &dest)).await;
                if matches!(linked, Ok(Ok(()))) {
                    return Ok(());
                }
            }
        }
        let mut source = tokio::fs::File::open(file).await.map_err(|e| io_failed("opening an upload", e))?;
        let upload = self.store().put_multipart(&path).await.map_err(|e| failed(key, e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            let n = match source.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(io_failed("reading an upload", e));
                }
            };
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                return Err(failed(key, e));
            }
            writer.write(&buf[..n]);
        }
        writer.finish().await.map_err(|e| failed(key, e))?;
        Ok(())
    }

    async fn put_bytes(&self, key: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        let path = self.path(key)?;
        self.forget(key);
        self.store().put(&path, PutPayload::from(bytes)).await.map_err(|e| failed(key, e))?;
        Ok(())
    }

    async fn fetch_to_file(&self, key: &str, file: &Path) -> Result<(), StorageError> {
        let path = self.path(key)?;
        // A local store's object is linked rather than copied (the reader only reads it).
        if let Backend::Local(fs) = &self.backend {
            if let Ok(stored) = fs.path_to_filesystem(&path) {
                let target = file.to_owned();
                let linked = tokio::task::spawn_blocking(move || link_into_place(&stored, &target)).await;
                if matches!(linked, Ok(Ok(()))) {
                    return Ok(());
                }
            }
        }
        let got = self.store().get_opts(&path, GetOptions::default()).await.map_err(|e| failed(key, e))?;
        let mut stream = got.into_stream();
        let mut out = tokio::fs::File::create(file).await.map_err(|e| io_failed("creating a work file", e))?;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| failed(key, e))?;
            out.write_all(&chunk).await.map_err(|e| io_failed("writing a work file", e))?;
        }
        out.flush().await.map_err(|e| io_failed("writing a work file", e))?;
        Ok(())
    }

    async fn read(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        let path = self.path(key)?;
        let got = self.store().get_opts(&path, GetOptions::default()).await.map_err(|e| failed(key, e))?;
        Ok(got.bytes().await.map_err(|e| failed(key, e))?.to_vec())
    }

    async fn open(&self, key: &str, range: Option<ByteRange>) -> Result<ObjectRead, StorageError> {
        let path = self.path(key)?;
        if let Backend::Local(fs) = &self.backend {
            if let Some(hit) = self.cache.as_ref().and_then(|c| c.get(key)) {
                return from_memory(hit, range);
            }
            let file = fs.path_to_filesystem(&path).map_err(|e| failed(key, e))?;
            return match open_local(key, file).await? {
                Opened::Whole(whole) => {
                    if let Some(cache) = &self.cache {
                        cache.insert(key.to_owned(), whole.clone());
                    }
                    from_memory(whole, range)
                }
                Opened::Large(file, info) => stream_local(file, info, range),
            };
        }
        let mut options = GetOptions::default();
        if let Some(range) = range {
            // The size decides what a range means (and whether it is satisfiable); a local
            // stat or one HEAD request, only for ranged reads.
            let meta = self.store().head(&path).await.map_err(|e| failed(key, e))?;
            let wanted = ByteRange::part_of(Some(range), meta.size)?;
            options.range = Some(GetRange::Bounded(wanted));
        }
        let got = self.store().get_opts(&path, options).await.map_err(|e| failed(key, e))?;
        let info = info_of(&got.meta);
        let range = got.range.clone();
        let key = key.to_owned();
        let body = got.into_stream().map_err(move |e| std::io::Error::other(format!("{key}: {e}"))).boxed();
        Ok(ObjectRead { info, range, body })
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<(), StorageError> {
        let path = self.path(prefix.trim_end_matches('/'))?;

        let listed = self.store().list(Some(&path)).map_ok(|meta| meta.location).boxed();
        let mut deleted = self.store().delete_stream(listed);
        while let Some(result) = deleted.next().await {
            match result {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(failed(prefix, e)),
            }
        }
        if let Some(cache) = &self.cache {
            let prefix = prefix.to_owned();
            // Accepted only with invalidation closures on, which `with_read_cache` turns on.
            let _ = cache.invalidate_entries_if(move |key, _| key.starts_with(&prefix));
        }
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Listed>, StorageError> {
        let path = self.path(prefix.trim_end_matches('/'))?;
        let mut listed = self.store().list(Some(&path));
        let mut found = Vec::new();
        while let Some(meta) = listed.next().await {
            let meta = match meta {
                Ok(meta) => meta,
                Err(object_store::Error::NotFound { .. }) => continue,
                Err(e) => return Err(failed(prefix, e)),
            };
            let Some(key) = meta.location.as_ref().strip_prefix(self.prefix.as_str()) else { continue };
            let modified = OffsetDateTime::from_unix_timestamp(meta.last_modified.timestamp())
                .map_err(|e| StorageError::Unavailable(format!("{key}: {e}")))?;
            found.push(Listed { key: key.to_owned(), modified });
        }
        Ok(found)
    }

    async fn presigned_get(&self, key: &str, ttl: Duration) -> Result<Option<String>, StorageError> {
        let Backend::S3(s3) = &self.backend else { return Ok(None) };
        let url = s3
            .signed_url(object_store::signer::Method::GET, &self.path(key)?, ttl)
            .await
            .map_err(|e| failed(key, e))?;
        Ok(Some(url.to_string()))
    }
}
