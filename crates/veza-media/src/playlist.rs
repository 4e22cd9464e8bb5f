//! HLS playlists: ffmpeg writes each variant's media playlist; Veza writes the master over a
//! codec's ladder itself, since ffmpeg's own master omits `CODECS` for fMP4 audio. `BANDWIDTH`
//! is the peak segment bit rate measured from the files (as RFC 8216 §4.3.4.2 defines it),
//! `AVERAGE-BANDWIDTH` the mean over the whole variant.

use std::path::Path;

/// One variant as it came out of ffmpeg.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// Its folder under the rendition's, e.g. `160k`.
    pub folder: String,
    pub peak_bps: u64,
    pub average_bps: u64,
}

/// Reads a media playlist, measures its segments, and makes sure it declares its segments
/// independent (every segment starts with a decodable frame, as audio always does).
pub fn measure_variant(dir: &Path, folder: &str) -> std::io::Result<Variant> {
    let playlist_path = dir.join(folder).join("index.m3u8");
    let text = std::fs::read_to_string(&playlist_path)?;
    let (mut peak, mut bits, mut seconds) = (0f64, 0f64, 0f64);
    let mut duration = None;
    for line in text.lines() {
        if let Some(d) = line.strip_prefix("#EXTINF:") {
            duration = d.split(',').next().and_then(|d| d.parse::<f64>().ok());
        } else if !line.starts_with('#') && !line.is_empty() {
            let size = std::fs::metadata(dir.join(folder).join(line))?.len() as f64 * 8.0;
            if let Some(d) = duration.take().filter(|d| *d > 0.0) {
                peak = peak.max(size / d);
                bits += size;
                seconds += d;
            }
        }
    }
    if !text.contains("#EXT-X-INDEPENDENT-SEGMENTS") {
        let fixed = text.replacen("#EXTM3U\n", "#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n", 1);
        std::fs::write(&playlist_path, fixed)?;
    }
    let average = if seconds > 0.0 { bits / seconds } else { 0.0 };
    Ok(Variant { folder: folder.to_owned(), peak_bps: peak.ceil() as u64, average_bps: average.ceil() as u64 })
}

/// The master playlist over `variants`, best first, all of one codec (RFC 6381 name).
pub fn master(codecs: &str, variants: &[Variant]) -> String {
    let mut out = String::from("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    for v in variants {
        out.push_str(&format!(
            "#EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},CODECS=\"{codecs}\"\n{}/index.m3u8\n",
            v.peak_bps, v.average_bps, v.folder
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_are_measured_from_their_segments_and_masters_name_them() {
        let dir = tempfile::tempdir().unwrap();
        let v = dir.path().join("96k");
        std::fs::create_dir(&v).unwrap();
        std::fs::write(v.join("init.mp4"), [0u8; 100]).unwrap();
        std::fs::write(v.join("seg_000.m4s"), [0u8; 72_000]).unwrap(); // 96 kb/s over 6 s
        std::fs::write(v.join("seg_001.m4s"), [0u8; 30_000]).unwrap(); // 120 kb/s over 2 s
        std::fs::write(
            v.join("index.m3u8"),
            "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:6.000000,\nseg_000.m4s\n#EXTINF:2.000000,\nseg_001.m4s\n#EXT-X-ENDLIST\n",
        )
        .unwrap();
        let measured = measure_variant(dir.path(), "96k").unwrap();
        assert_eq!(measured, Variant { folder: "96k".into(), peak_bps: 120_000, average_bps: 102_000 });
        assert!(std::fs::read_to_string(v.join("index.m3u8")).unwrap().contains("#EXT-X-INDEPENDENT-SEGMENTS"));
        let m = master("Opus", &[measured]);
        assert!(
            m.contains("#EXT-X-STREAM-INF:BANDWIDTH=120000,AVERAGE-BANDWIDTH=102000,CODECS=\"Opus\"\n96k/index.m3u8\n")
        );
    }
}
