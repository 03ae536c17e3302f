//! Hostile: a component of `tillit:plugin@9.0.0`, an API version the host
//! does not have (its WIT is in `wit/`, not in `plugin-api/`), with a
//! manifest saying `api = "9.0.0"`. The host must refuse to load it for
//! both reasons, before instantiating anything.

#[allow(unsafe_code, missing_debug_implementations, clippy::all)]
mod bindings {
    wit_bindgen::generate!({ path: "wit", world: "plugin" });
}

use bindings::exports::tillit::plugin::http::{Guest, Request, Response};
use bindings::tillit::plugin::log::{Level, log};

#[derive(Debug)]
struct OldApi;

impl Guest for OldApi {
    fn handle(request: Request) -> Response {
        log(Level::Warn, "hostile-oldapi ran: the host loaded API 9.0.0");
        Response {
            status: 200,
            body: request.path.into_bytes(),
        }
    }
}

#[allow(unsafe_code)]
mod export {
    use super::OldApi;
    crate::bindings::export!(OldApi with_types_in crate::bindings);
}
