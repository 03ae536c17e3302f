//! Simulcast layers as the browser names them (RIDs) and as the room
//! numbers them, and what each layer is assumed to carry.

use tillit_sfu::{Layer, LayerInfo};

/// The simulcast layer a RID names: the room numbers layers from the
/// lowest resolution up; the room page sends "q", "h" and "f".
pub fn layer_of(rid: Option<&str>) -> Layer {
    match rid {
        Some("q") | None => Layer(0),
        Some("h") => Layer(1),
        Some(_) => Layer(2),
    }
}

/// The RID of a simulcast layer, the inverse of [`layer_of`].
pub fn rid_of(layer: Layer) -> &'static str {
    match layer.0 {
        0 => "q",
        1 => "h",
        _ => "f",
    }
}

/// A layer scaled down by `div` from 1280×720 at 1.5 Mbit/s.
pub(crate) fn layer_info(layer: Layer, div: u32) -> LayerInfo {
    LayerInfo {
        layer,
        width: 1280 / div,
        height: 720 / div,
        bitrate: 1_500_000 / u64::from(div * div),
    }
}
