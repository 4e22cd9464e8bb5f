//! What Veza measures from the decoded audio while ffmpeg encodes: EBU R128 loudness and true
//! peak (the `ebur128` crate), and the waveform — audiowaveform's JSON (version 2, 8-bit min/max
//! pairs) and a fixed-width summary for list views. Fed interleaved stereo `f32` at
//! [`SAMPLE_RATE`], in whatever pieces the pipe delivers.

use ebur128::{EbuR128, Mode};
use serde::Serialize;
use veza_core::catalog::track::Loudness;

/// ffmpeg resamples the analysis branch to this rate: Opus's, and enough for true peak.
pub const SAMPLE_RATE: u32 = 48_000;
pub const CHANNELS: u32 = 2;
/// audiowaveform's zoom: 512 frames per pixel at 48 kHz is ~94 pixels a second, enough to see
/// a beat while a 5-minute track stays under 60k pixels.
pub const SAMPLES_PER_PIXEL: u32 = 512;
/// SoundCloud's summary: 1800 columns, 140 high.
pub const SUMMARY_WIDTH: usize = 1800;
pub const SUMMARY_HEIGHT: u32 = 140;
/// The EBU R128 absolute gate: anything quieter counts as silence.
const SILENCE_LUFS: f64 = -70.0;
/// A true peak of silence, in place of −∞ (which the database and JSON cannot hold).
const SILENT_PEAK_DBTP: f64 = -120.0;

#[derive(Debug)]
pub struct Analysis {
    meter: EbuR128,
    /// Bytes of a sample split across two reads.
    carry: Vec<u8>,
    samples: Vec<f32>,
    /// The pixel being drawn: (min, max, frames so far).
    pixel: (f32, f32, u32),
    pixels: Vec<(i8, i8)>,
    frames: u64,
}

#[derive(Serialize)]
struct AudioWaveform<'a> {
    version: u32,
    channels: u32,
    sample_rate: u32,
    samples_per_pixel: u32,
    bits: u32,
    length: usize,
    data: &'a [i8],
}

#[derive(Serialize)]
struct Summary<'a> {
    width: usize,
    height: u32,
    samples: &'a [u32],
}

/// What the analysis found.
#[derive(Debug)]
pub struct Measured {
    pub loudness: Loudness,
    pub duration_ms: u64,
    /// audiowaveform JSON.
    pub waveform: Vec<u8>,
    /// The summary JSON.
    pub summary: Vec<u8>,
}

impl Analysis {
    pub fn new() -> Result<Self, String> {
        let meter = EbuR128::new(CHANNELS, SAMPLE_RATE, Mode::I | Mode::TRUE_PEAK).map_err(|e| e.to_string())?;
        Ok(Self { meter, carry: Vec::new(), samples: Vec::new(), pixel: (0.0, 0.0, 0), pixels: Vec::new(), frames: 0 })
    }

    /// Takes the next bytes of raw `f32le` interleaved stereo.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.carry.extend_from_slice(bytes);
        let frame_bytes = 4 * CHANNELS as usize;
        let whole = self.carry.len() / frame_bytes * frame_bytes;
        self.samples.clear();
        self.samples.extend(self.carry[..whole].chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])));
        self.carry.drain(..whole);
        self.meter.add_frames_f32(&self.samples).map_err(|e| e.to_string())?;
        for frame in self.samples.chunks_exact(CHANNELS as usize) {
            let mono = frame.iter().sum::<f32>() / CHANNELS as f32;
            let (min, max, n) = &mut self.pixel;
            *min = min.min(mono);
            *max = max.max(mono);
            *n += 1;
            if *n == SAMPLES_PER_PIXEL {
                self.pixels.push((quantise(*min), quantise(*max)));
                self.pixel = (0.0, 0.0, 0);
            }
        }
        self.frames += (whole / frame_bytes) as u64;
        Ok(())
    }

    pub fn finish(mut self) -> Result<Measured, String> {
        if self.pixel.2 > 0 {
            self.pixels.push((quantise(self.pixel.0), quantise(self.pixel.1)));
        }
        let integrated = self.meter.loudness_global().map_err(|e| e.to_string())?;
        let peak = (0..CHANNELS)
            .map(|c| self.meter.true_peak(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?
            .into_iter()
            .fold(0.0f64, f64::max);
        let peak_db = 20.0 * peak.log10();
        let loudness = Loudness {
            integrated_lufs: if integrated.is_finite() && integrated > SILENCE_LUFS {
                round2(integrated)
            } else {
                SILENCE_LUFS
            },
            true_peak_dbtp: if peak_db.is_finite() { round2(peak_db).max(SILENT_PEAK_DBTP) } else { SILENT_PEAK_DBTP },
        };
        let data: Vec<i8> = self.pixels.iter().flat_map(|&(min, max)| [min, max]).collect();
        let waveform = serde_json::to_vec(&AudioWaveform {
            version: 2,
            channels: 1,
            sample_rate: SAMPLE_RATE,
            samples_per_pixel: SAMPLES_PER_PIXEL,
            bits: 8,
            length: self.pixels.len(),
            data: &data,
        })
        .map_err(|e| e.to_string())?;
        let summary = serde_json::to_vec(&Summary {
            width: SUMMARY_WIDTH,
            height: SUMMARY_HEIGHT,
            samples: &summarise(&self.pixels),
        })
        .map_err(|e| e.to_string())?;
        Ok(Measured { loudness, duration_ms: self.frames * 1000 / u64::from(SAMPLE_RATE), waveform, summary })
    }
}

fn quantise(v: f32) -> i8 {
    (v.clamp(-1.0, 1.0) * 127.0).round() as i8
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// [`SUMMARY_WIDTH`] columns, each the loudest peak of its share of the pixels, scaled to
/// [`SUMMARY_HEIGHT`]. A track shorter than the summary repeats pixels rather than leave gaps.
fn summarise(pixels: &[(i8, i8)]) -> Vec<u32> {
    if pixels.is_empty() {
        return vec![0; SUMMARY_WIDTH];
    }
    (0..SUMMARY_WIDTH)
        .map(|col| {
            let start = col * pixels.len() / SUMMARY_WIDTH;
            let end = ((col + 1) * pixels.len() / SUMMARY_WIDTH).max(start + 1).min(pixels.len());
            let peak =
                pixels[start..end].iter().map(|&(min, max)| i32::from(min).abs().max(i32::from(max).abs())).max();
            (peak.unwrap_or(0).unsigned_abs() * SUMMARY_HEIGHT).div_ceil(127)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(amplitude: f32, seconds: u32) -> Vec<u8> {
        let frames = SAMPLE_RATE * seconds;
        (0..frames)
            .flat_map(|i| {
                let v = amplitude * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / SAMPLE_RATE as f32).sin();
                [v, v]
            })
            .flat_map(f32::to_le_bytes)
            .collect()
    }

    #[test]
    fn a_full_scale_sine_measures_as_ebu_says_in_any_piece_sizes() {
        // EBU Tech 3341: a 1 kHz sine at 0 dBFS in one channel reads −3.01 LUFS; in both, the
        // channels' powers add up to 0 LUFS.
        let pcm = sine(1.0, 5);
        let mut a = Analysis::new().unwrap();
        for piece in pcm.chunks(4093) {
            a.feed(piece).unwrap();
        }
        let m = a.finish().unwrap();
        assert!(m.loudness.integrated_lufs.abs() < 0.05, "{:?}", m.loudness);
        assert!(m.loudness.true_peak_dbtp.abs() < 0.2, "{:?}", m.loudness);
        assert_eq!(m.duration_ms, 5000);
        let w: serde_json::Value = serde_json::from_slice(&m.waveform).unwrap();
        assert_eq!(w["version"], 2);
        let pixels = (5 * SAMPLE_RATE).div_ceil(SAMPLES_PER_PIXEL) as usize;
        assert_eq!(w["length"], pixels);
        assert_eq!(w["data"].as_array().unwrap().len(), 2 * pixels);
        assert_eq!((w["data"][0].as_i64(), w["data"][1].as_i64()), (Some(-127), Some(127)));
        let s: serde_json::Value = serde_json::from_slice(&m.summary).unwrap();
        assert_eq!(s["samples"].as_array().unwrap().len(), SUMMARY_WIDTH);
        assert_eq!(s["samples"][900], SUMMARY_HEIGHT);
    }

    #[test]
    fn silence_gets_floor_values_not_infinities() {
        let mut a = Analysis::new().unwrap();
        a.feed(&sine(0.0, 1)).unwrap();
        let m = a.finish().unwrap();
        assert_eq!(m.loudness.integrated_lufs, SILENCE_LUFS);
        assert_eq!(m.loudness.true_peak_dbtp, SILENT_PEAK_DBTP);
        assert_eq!(m.loudness.gain_db(), 0.0);
    }
}
