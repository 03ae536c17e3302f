//! Hostile: panics in every hook with a message a test can find in the
//! log. On wasm a panic is an `unreachable` trap; the SDK's panic hook must
//! have logged the message (with "deliberate panic" and the hook's name)
//! through the `log` capability first.

use tillit_plugin_sdk::{Event, Plugin, Request, Response, Result, Slot, View};

/// What every panic message starts with.
pub const MESSAGE: &str = "hostile-panics: deliberate panic in";

#[derive(Debug)]
pub struct Panics;

tillit_plugin_sdk::register!(Panics);

impl Plugin for Panics {
    fn on_event(event: Event) -> Result<()> {
        panic!("{MESSAGE} on_event ({})", event.kind());
    }

    fn on_request(request: Request) -> Result<Response> {
        if request.path == "/ok" {
            return Ok(Response::text(200, "ok"));
        }
        panic!("{MESSAGE} on_request ({})", request.path);
    }

    fn render(slot: Slot) -> Result<Option<View>> {
        panic!("{MESSAGE} render ({})", slot.kind());
    }
}
