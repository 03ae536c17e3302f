//! Capability `clock`: the time, from the host (which may freeze it in
//! tests). Manifest name: `clock`.

use crate::Timestamp;

#[cfg(target_arch = "wasm32")]
use crate::bindings::tillit::plugin::clock as host;
#[cfg(not(target_arch = "wasm32"))]
use crate::testing::imports::clock as host;

/// Now, in milliseconds since the Unix epoch (UTC).
pub fn now() -> Timestamp {
    host::now()
}
