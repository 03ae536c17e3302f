//! Hostile: keeps the host busy rather than itself. Each storage call is
//! quick, so the plugin's own running time barely grows while the call goes
//! on for as long as the host lets it.

use tillit_plugin_sdk::storage::{self, Condition};
use tillit_plugin_sdk::{Plugin, Request, Response, Result, Scope};

#[derive(Debug)]
pub struct HostCalls;

tillit_plugin_sdk::register!(HostCalls);

impl Plugin for HostCalls {
    fn on_request(request: Request) -> Result<Response> {
        if request.path == "/ok" {
            return Ok(Response::text(200, "ok"));
        }
        let value = [b'x'; 512];
        loop {
            // Errors (a quota, say) change nothing: go on.
            let _ = storage::set(Scope::Tenant, "loop", &value, Condition::Always);
            let _ = storage::get(Scope::Tenant, "loop");
        }
    }
}
