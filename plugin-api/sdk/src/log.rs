//! Capability `log`: lines in the kernel's log, tagged by the host with the
//! plugin and tenant. Always granted (the panic hook needs it), and
//! rate-limited. Never log care data, names or person references together
//! with what they did: logs are read by operators, not clinicians.

pub use crate::bindings::tillit::plugin::log::Level;

#[cfg(target_arch = "wasm32")]
use crate::bindings::tillit::plugin::log as host;
#[cfg(not(target_arch = "wasm32"))]
use crate::testing::imports::log as host;

/// Writes one line at `level`.
pub fn log(level: Level, message: &str) {
    host::log(level, message);
}

/// Writes a line at `Level::Trace`.
pub fn trace(message: &str) {
    log(Level::Trace, message);
}

/// Writes a line at `Level::Debug`.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Writes a line at `Level::Info`.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Writes a line at `Level::Warn`.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Writes a line at `Level::Error`.
pub fn error(message: &str) {
    log(Level::Error, message);
}
