//! Reports panics to the host's log. On wasm32-unknown-unknown a panic
//! aborts with an `unreachable` trap and its message is lost, so the hook
//! writes it to the `log` capability before the abort.

/// Installs the hook, once per instance. Called on every entry into the
/// plugin; a no-op on native targets, where the test harness reports panics.
pub(crate) fn install_hook() {
    #[cfg(target_arch = "wasm32")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                // `info` reads "panicked at src/lib.rs:10:5:\n<message>".
                crate::log::error(&format!("plugin {info}"));
            }));
        });
    }
}
