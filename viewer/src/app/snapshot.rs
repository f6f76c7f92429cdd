//! "Save PNG": the window as it is drawn, written as a PNG beside the trace. The pixels come
//! from the renderer a frame later, so the request and the write are two steps.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};

use anyhow::Context as _;

use crate::panels::beside_trace;

/// A screenshot asked for and not yet written, and what the last one did.
#[derive(Debug, Default)]
pub struct Shots {
    pending: Option<(PathBuf, Receiver<Arc<egui::ColorImage>>)>,
    /// The file the last screenshot went to, or why it could not be written.
    pub last: Option<Result<PathBuf, String>>,
}

impl Shots {
    /// Asks the renderer for the window's pixels, to be written to `path`. A request while
    /// another is pending replaces it.
    pub fn request(&mut self, ctx: &egui::Context, path: PathBuf) {
        let (tx, rx) = mpsc::channel();
        let c = ctx.clone();
        ctx.request_screenshot(move |img| {
            let _ = tx.send(img);
            c.request_repaint();
        });
        self.pending = Some((path, rx));
    }

    /// True while a screenshot is asked for and not written yet.
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Writes the screenshot once its pixels arrived.
    pub fn poll(&mut self) {
        let Some((path, rx)) = &self.pending else {
            return;
        };
        match rx.try_recv() {
            Ok(img) => {
                self.last = Some(
                    write_png(path, &img)
                        .map(|()| path.clone())
                        .map_err(|e| format!("{e:#}")),
                );
                self.pending = None;
            }
            Err(mpsc::TryRecvError::Empty) => {}
            Err(mpsc::TryRecvError::Disconnected) => {
                self.last = Some(Err(
                    "the renderer gave no pixels (this window cannot take screenshots)".to_owned(),
                ));
                self.pending = None;
            }
        }
    }
}

/// Where "Save PNG" writes a view of the trace at `trace` showing `panel`: beside the trace,
/// `.PANEL.png` added (see [`beside_trace`]).
pub fn png_path(trace: &Path, panel: &str) -> PathBuf {
    let panel: String = (panel.chars())
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    beside_trace(trace, &format!("{panel}.png"))
}

/// Writes `img` as an opaque RGBA PNG.
pub fn write_png(path: &Path, img: &egui::ColorImage) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let [w, h] = img.size;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w as u32, h as u32);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut bytes = img.as_raw().to_vec();
    bytes.chunks_exact_mut(4).for_each(|p| p[3] = 255);
    let mut writer = enc.write_header().context("cannot write the PNG header")?;
    writer
        .write_image_data(&bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_views_png_goes_beside_its_trace_or_in_the_working_directory() {
        let dir = std::env::temp_dir();
        let trace = dir.join("bank run.lstrace");
        assert_eq!(
            png_path(&trace, "Wait-for"),
            dir.join("bank-run.lstrace.wait-for.png")
        );
        assert_eq!(
            png_path(Path::new("127.0.0.1:7878"), "Timeline"),
            PathBuf::from("127.0.0.1-7878.timeline.png")
        );
    }

    #[test]
    fn the_png_written_has_the_images_size_and_pixels() {
        let path = std::env::temp_dir().join(format!("lockscope-shot-{}.png", std::process::id()));
        let img = egui::ColorImage::new([3, 2], vec![egui::Color32::from_rgb(200, 10, 20); 6]);
        write_png(&path, &img).unwrap();
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (3, 2));
        assert_eq!(&buf[..4], &[200, 10, 20, 255]);
        std::fs::remove_file(&path).unwrap();
        let e = write_png(Path::new("/nonexistent-dir/x.png"), &img).unwrap_err();
        assert!(
            format!("{e:#}").contains("cannot create /nonexistent-dir/x.png"),
            "{e:#}"
        );
    }
}
