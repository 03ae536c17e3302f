//! Hostile: tries to run script in the portal. Its panel's data carries a
//! `javascript:` link, markup that would close an attribute and open a
//! script, and an image URL on another site; its routes serve a script, an
//! HTML page and an SVG with script, each with the type a browser would
//! run. Each attempt, if it worked, sets `document.title` to [`PWNED`].

use serde_json::json;
use tillit_plugin_sdk::{Plugin, Request, Response, Result, Slot, View};

/// What the page's title becomes if any of this runs.
pub const PWNED: &str = "pwned-by-scripter";

const SCRIPT: &str = "document.title = 'pwned-by-scripter';";

#[derive(Debug)]
pub struct Scripter;

tillit_plugin_sdk::register!(Scripter);

impl Plugin for Scripter {
    fn on_request(request: Request) -> Result<Response> {
        let (kind, body) = match request.path.as_str() {
            "/evil.js" => ("text/javascript", SCRIPT.to_owned()),
            "/page" => ("text/html", format!("<script>{SCRIPT}</script>")),
            "/picture.svg" => (
                "image/svg+xml",
                format!(
                    "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>{SCRIPT}</script></svg>"
                ),
            ),
            _ => return Ok(Response::not_found()),
        };
        Ok(Response::status(200)
            .with_header("content-type", kind)
            .with_header("set-cookie", "tillit_session=planted; Path=/")
            .with_body(body.into_bytes()))
    }

    fn render(_: Slot) -> Result<Option<View>> {
        View::new(
            "panel",
            &json!({
                "link": format!("javascript:{SCRIPT}"),
                "own": "/plugins/hostile-scripter/evil.js",
                "label": "<script>document.title='pwned-by-scripter'</script>",
                "quote": format!("\"><img src=x onerror=\"{SCRIPT}\">"),
                "image": "https://tracker.example/pixel.gif",
            }),
        )
        .map(Some)
    }
}
