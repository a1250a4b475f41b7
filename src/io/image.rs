//! PNG files (screenshots of the workbench).

use std::io::BufWriter;
use std::path::Path;

use super::IoError;

/// Writes 8-bit RGBA pixels (row-major, `width * height * 4` bytes) as a PNG.
pub fn write_png(path: &Path, width: u32, height: u32, rgba: &[u8]) -> Result<(), IoError> {
    if rgba.len() != width as usize * height as usize * 4 {
        return Err(IoError::invalid(path, format!("image data is {} bytes, expected {width}×{height}×4", rgba.len())));
    }
    let file = std::fs::File::create(path).map_err(|error| IoError::Write {
        what: "PNG image",
        path: path.to_path_buf(),
        error,
    })?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let encode = |e: png::EncodingError| IoError::invalid(path, format!("cannot encode PNG: {e}"));
    let mut writer = encoder.write_header().map_err(encode)?;
    writer.write_image_data(rgba).map_err(encode)?;
    writer.finish().map_err(encode)
}
