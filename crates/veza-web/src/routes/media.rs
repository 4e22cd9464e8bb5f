//! `GET /media/{path}`: playlists, segments and files of tracks, by the signed paths that
//! `GET /api/v1/tracks/{id}/stream` hands out, and messages' files, by the signed URLs messages
//! carry (`/media/attachments/…`). No session is involved: the signature (bound to track and
//! rendition, or to one file, and an expiry) is the permission, so players and caches fetch
//! plain URLs.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use veza_core::catalog::media::{ByteRange, ObjectRead};
use veza_core::catalog::tracks::MediaReply;
use veza_core::chat::attachment;
use veza_core::CoreError;

use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// Segments and files never change under their URL.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Playlists are small and read once per play.
const FRESH: &str = "no-cache";

/// A media file, or a message's file. Supports single byte ranges (`Range: bytes=…`, answered
/// 206), `If-None-Match` (304), and `HEAD`. In S3 mode a track's segment or file may be answered
/// with a redirect to the store. A message's file comes with its type, a `Content-Disposition`
/// naming it (inline for images, audio and video; a download otherwise) and a sandboxing CSP.
#[utoipa::path(
    get, path = "/media/{path}", tag = "tracks",
    params(
        ("path" = String, Path, description = "A signed path from the stream URLs: `{track}/{rendition}/{expires}/{signature}/{file…}` (the file part may hold slashes); or `attachments/{attachment}/{expires}/{signature}/{file name}` from a message"),
        ("Range" = Option<String>, Header, description = "One byte range, such as `bytes=0-1023`"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer"),
    ),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream",
            headers(("ETag" = String), ("Last-Modified" = String), ("Cache-Control" = String), ("Accept-Ranges" = String))),
        (status = 206, description = "The requested range", content_type = "application/octet-stream",
            headers(("Content-Range" = String), ("ETag" = String))),
        (status = 302, description = "Fetch it from the object store", headers(("Location" = String))),
        (status = 304, description = "Not modified"),
        (status = 403, description = "The link expired or is not valid: ask for the stream again", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such file", body = Problem, content_type = "application/problem+json"),
        (status = 416, description = "The range lies outside the file", body = Problem, content_type = "application/problem+json",
            headers(("Content-Range" = String, description = "`bytes */{size}`"))),
        (status = 503, description = "Storage unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn media(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    // The raw path: the signature and file name are plain ASCII, so nothing needs decoding, and
    // an encoded slash or dot can never become a path separator.
    let path = uri.path().strip_prefix("/media/").unwrap_or_default();
    let range = headers.get(header::RANGE).and_then(|v| parse_range(v.to_str().ok()?));
    if let Some(path) = path.strip_prefix("attachments/") {
        return match state.communities.open_attachment(path, range).await {
            Ok((attachment, read)) => {
                let content_type = HeaderValue::from_str(&attachment.content_type)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream"));
                let mut res = object(read, range.is_some(), &headers, content_type, true);
                let h = res.headers_mut();
                let disposition = if attachment.inline() { "inline" } else { "attachment" };
                let name = attachment::url_name(&attachment.file_name);
                if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename*=UTF-8''{name}")) {
                    h.insert(header::CONTENT_DISPOSITION, v);
                }
                // Whatever a browser makes of the file, it runs nothing with this origin's rights.
                h.insert(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static("sandbox; default-src 'none'; frame-ancestors 'none'"),
                );
                res
            }
            Err(e) => refused(e),
        };
    }
    match state.catalog.open_media(path, range).await {
        Ok(MediaReply::Object { read, content_type, immutable }) => {
            object(read, range.is_some(), &headers, HeaderValue::from_static(content_type), immutable)
        }
        Ok(MediaReply::Redirect(url)) => {
            (StatusCode::FOUND, [(header::LOCATION, url), (header::CACHE_CONTROL, "no-store".into())]).into_response()
        }
        Err(e) => refused(e),
    }
}

fn refused(e: CoreError) -> Response {
    // This route runs without the API's tracing layer: say here what went wrong inside.
    if matches!(e, CoreError::Unavailable(_) | CoreError::Internal(_)) {
        tracing::warn!(error = %e, "a media file cannot be served");
    }
    ApiError::from(e).into_response()
}

/// The answer for an opened object (or the part of it `partial` asked for): 200 or 206 with its
/// caching headers, or 304 when the client's copy is current.
fn object(
    read: ObjectRead,
    partial: bool,
    headers: &HeaderMap,
    content_type: HeaderValue,
    immutable: bool,
) -> Response {
    let etag = read.info.etag.as_deref().map(|t| {
        let t = t.trim_matches('"');
        HeaderValue::from_str(&format!("\"{t}\"")).unwrap_or(HeaderValue::from_static("\"\""))
    });
    let last_modified = httpdate::fmt_http_date(read.info.last_modified.into());
    let cache = HeaderValue::from_static(if immutable { IMMUTABLE } else { FRESH });
    let not_modified = match (&etag, headers.get(header::IF_NONE_MATCH)) {
        (Some(tag), Some(wanted)) => wanted.to_str().is_ok_and(|w| {
            w.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == "*" || t.as_bytes() == tag.as_bytes())
        }),
        _ => false,
    };
    let mut res = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let size = read.info.size;
        let len = read.range.end - read.range.start;
        let content_range = format!("bytes {}-{}/{size}", read.range.start, read.range.end.saturating_sub(1));
        let mut res = axum::body::Body::from_stream(read.body).into_response();
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, content_type);
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        if partial {
            *res.status_mut() = StatusCode::PARTIAL_CONTENT;
            if let Ok(v) = HeaderValue::from_str(&content_range) {
                res.headers_mut().insert(header::CONTENT_RANGE, v);
            }
        }
        res
    };
    let h = res.headers_mut();
    if let Some(tag) = etag {
        h.insert(header::ETAG, tag);
    }
    if let Ok(v) = HeaderValue::from_str(&last_modified) {
        h.insert(header::LAST_MODIFIED, v);
    }
    h.insert(header::CACHE_CONTROL, cache);
    res
}

/// One range of a `Range` header; `None` for anything else (several ranges, another unit,
/// malformed), which is then ignored and the whole file sent, as RFC 9110 allows.
fn parse_range(value: &str) -> Option<ByteRange> {
    let spec = value.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let number = |s: &str| if s.bytes().all(|b| b.is_ascii_digit()) { s.parse::<u64>().ok() } else { None };
    match (first.trim(), last.trim()) {
        ("", n) => number(n).map(ByteRange::Suffix),
        (f, "") => number(f).map(ByteRange::From),
        (f, l) => match (number(f)?, number(l)?) {
            (first, last) if first <= last => Some(ByteRange::FromTo(first, last)),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_single_byte_ranges_and_ignores_the_rest() {
        assert_eq!(parse_range("bytes=0-99"), Some(ByteRange::FromTo(0, 99)));
        assert_eq!(parse_range("bytes=100-"), Some(ByteRange::From(100)));
        assert_eq!(parse_range("bytes=-500"), Some(ByteRange::Suffix(500)));
        assert_eq!(parse_range(" bytes= 5 - 9 "), Some(ByteRange::FromTo(5, 9)));
        for ignored in
            ["bytes=0-1,5-9", "items=0-9", "bytes=a-b", "bytes=-", "bytes=+1-2", "0-9", "bytes=9", "bytes=9-5"]
        {
            assert_eq!(parse_range(ignored), None, "{ignored}");
        }
    }
}
