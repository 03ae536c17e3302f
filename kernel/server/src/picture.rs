//! Profile pictures: what an upload must be, and what is kept of it.
//!
//! The type is decided by the file's first bytes, never by its name or the
//! browser's word (JPEG, PNG or WebP). Decoding runs under limits, so a small
//! file that claims enormous dimensions is refused rather than exhausting
//! memory. What is stored is a new 400×400 JPEG, centre-cropped: no metadata
//! (such as where a photo was taken) survives, and nothing the uploader
//! crafted is ever served back.

use std::io::Cursor;

use image::imageops::FilterType;
use image::{ImageFormat, ImageReader, Limits};

/// The largest upload accepted, before decoding.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;
/// Room for the multipart framing around a largest upload.
pub const MAX_REQUEST_BYTES: usize = MAX_BYTES + 64 * 1024;
const SIDE: u32 = 400;
const MAX_SIDE: u32 = 8000;
/// The most pixels decoded: a 24-megapixel photo (6000 × 4000). Checked
/// from the file's header, before anything is decoded.
pub const MAX_PIXELS: u64 = 24_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PictureError {
    #[error("no file was chosen")]
    Empty,
    #[error("the file is larger than allowed")]
    TooLarge,
    #[error("the file is not a JPEG, PNG or WebP image")]
    NotAnImage,
    #[error("the image could not be read")]
    Unreadable,
    #[error("the image's dimensions are too large")]
    TooManyPixels,
}

impl PictureError {
    /// The catalog key for the form field's message.
    pub fn message_key(self) -> &'static str {
        match self {
            Self::Empty => "picture.empty",
            Self::TooLarge => "picture.too_large",
            Self::NotAnImage => "picture.not_an_image",
            Self::Unreadable => "picture.unreadable",
            Self::TooManyPixels => "picture.too_many_pixels",
        }
    }
}

/// The format, by the file's first bytes.
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => Some(ImageFormat::Jpeg),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(ImageFormat::Png),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => Some(ImageFormat::WebP),
        _ => None,
    }
}

/// Checks an upload and returns the JPEG to keep.
pub fn process(bytes: &[u8]) -> Result<Vec<u8>, PictureError> {
    if bytes.is_empty() {
        return Err(PictureError::Empty);
    }
    if bytes.len() > MAX_BYTES {
        return Err(PictureError::TooLarge);
    }
    let format = sniff(bytes).ok_or(PictureError::NotAnImage)?;
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|_| PictureError::Unreadable)?;
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(PictureError::TooManyPixels);
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => PictureError::TooManyPixels,
        _ => PictureError::Unreadable,
    })?;
    // A large photo is first shrunk with a cheap box filter to twice the
    // final size, so the fine filter works on few pixels.
    let image = if image.width().min(image.height()) > 4 * SIDE {
        let scale = f64::from(2 * SIDE) / f64::from(image.width().min(image.height()));
        image.thumbnail(
            (f64::from(image.width()) * scale).ceil() as u32,
            (f64::from(image.height()) * scale).ceil() as u32,
        )
    } else {
        image
    };
    let square = image
        .resize_to_fill(SIDE, SIDE, FilterType::Lanczos3)
        .to_rgb8();
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85);
    square
        .write_with_encoder(encoder)
        .map_err(|_| PictureError::Unreadable)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn an_image_becomes_a_400_pixel_square_jpeg() {
        let out = process(&png(1200, 800)).unwrap();
        assert_eq!(sniff(&out), Some(ImageFormat::Jpeg));
        let back = image::load_from_memory(&out).unwrap();
        assert_eq!((back.width(), back.height()), (400, 400));
    }

    #[test]
    fn what_is_not_an_image_is_refused_by_its_content() {
        assert_eq!(process(b""), Err(PictureError::Empty));
        assert_eq!(
            process(b"<svg onload=alert(1)>"),
            Err(PictureError::NotAnImage)
        );
        assert_eq!(
            process(b"%PDF-1.7 not a picture"),
            Err(PictureError::NotAnImage)
        );
        let mut truncated = png(50, 50);
        truncated.truncate(40);
        assert_eq!(process(&truncated), Err(PictureError::Unreadable));
        assert_eq!(
            process(&vec![0xFF; MAX_BYTES + 1]),
            Err(PictureError::TooLarge)
        );
    }

    #[test]
    fn a_small_file_claiming_huge_dimensions_is_refused() {
        // A well-formed PNG header (with a correct checksum) claiming
        // 100000 × 100000 pixels, in a file of a few dozen bytes.
        assert_eq!(
            process(&claiming(100_000, 100_000)),
            Err(PictureError::TooManyPixels)
        );
    }

    /// A 1×1 PNG whose header (with a correct checksum) claims other
    /// dimensions.
    fn claiming(width: u32, height: u32) -> Vec<u8> {
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&width.to_be_bytes());
        bomb[20..24].copy_from_slice(&height.to_be_bytes());
        let crc = crc32(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        bomb
    }

    #[test]
    fn an_image_over_the_pixel_cap_is_refused_before_decoding() {
        // 8000 × 8000 (of one colour, a file of a few hundred kilobytes)
        // is within each side's limit but would take seconds to decode.
        assert_eq!(
            process(&claiming(8000, 8000)),
            Err(PictureError::TooManyPixels)
        );
        let tall = png(100, 8001);
        assert_eq!(process(&tall), Err(PictureError::TooManyPixels));
    }

    #[test]
    fn a_large_photo_under_the_cap_is_still_a_400_pixel_square() {
        let out = process(&png(2400, 1800)).unwrap();
        let back = image::load_from_memory(&out).unwrap();
        assert_eq!((back.width(), back.height()), (400, 400));
    }

    /// CRC-32 as PNG chunks use it (over the chunk type and data).
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}
