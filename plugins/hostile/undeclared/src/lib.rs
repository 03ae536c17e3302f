//! Hostile: uses `blobs`, which its manifest does not list (it asks only
//! for `log`). The build packages it anyway (with a warning); the host must
//! refuse to load it, because its imports exceed its grant.

use tillit_plugin_sdk::{Plugin, Request, Response, Result, Scope, blobs};

#[derive(Debug)]
pub struct Undeclared;

tillit_plugin_sdk::register!(Undeclared);

impl Plugin for Undeclared {
    fn on_request(_: Request) -> Result<Response> {
        let info = blobs::put(Scope::Tenant, "text/plain", b"smuggled")?;
        Ok(Response::text(200, &info.id))
    }
}
