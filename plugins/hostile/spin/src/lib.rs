//! Hostile: every hook loops forever. The host must interrupt it (epoch
//! deadline or fuel), answer the request with an error, and serve the next
//! call from a fresh instance.

use tillit_plugin_sdk::{Event, Plugin, Request, Response, Result, Slot, View};

#[derive(Debug)]
pub struct Spin;

tillit_plugin_sdk::register!(Spin);

impl Plugin for Spin {
    fn on_event(_: Event) -> Result<()> {
        spin()
    }

    fn on_request(request: Request) -> Result<Response> {
        // A route that answers lets a test show the plugin works when it
        // does not spin.
        if request.path == "/ok" {
            return Ok(Response::text(200, "ok"));
        }
        spin()
    }

    fn render(_: Slot) -> Result<Option<View>> {
        spin()
    }
}

/// Busy forever, without calling the host (a host call would give it a
/// chance to notice).
fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}
