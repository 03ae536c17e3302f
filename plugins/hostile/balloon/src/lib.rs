//! Hostile: allocates and touches memory a mebibyte at a time, keeping all
//! of it, until the allocator fails. The host's memory cap must stop it
//! (the failing `memory.grow` aborts the call) without hurting the host or
//! other instances.

use tillit_plugin_sdk::{Plugin, Request, Response, Result, Slot, View, log};

#[derive(Debug)]
pub struct Balloon;

tillit_plugin_sdk::register!(Balloon);

impl Plugin for Balloon {
    fn on_request(request: Request) -> Result<Response> {
        if request.path == "/ok" {
            return Ok(Response::text(200, "ok"));
        }
        inflate()
    }

    fn render(_: Slot) -> Result<Option<View>> {
        inflate()
    }
}

fn inflate() -> ! {
    log::info("balloon: allocating until the memory cap");
    let mut kept: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0u8; 1 << 20];
        // Touch every page so nothing can be left unmapped.
        for page in chunk.chunks_mut(4096) {
            page[0] = 1;
        }
        kept.push(std::hint::black_box(chunk));
    }
}
