//! Hostile: text and headers far past any sensible size, to reach the
//! kernel's log and its responses (see `plugin.toml`).

use tillit_plugin_sdk::{Error, Plugin, Request, Response, Result, log};

#[derive(Debug)]
pub struct Loud;

tillit_plugin_sdk::register!(Loud);

impl Plugin for Loud {
    fn on_request(request: Request) -> Result<Response> {
        let bytes = request
            .query("bytes")
            .and_then(|b| b.parse::<usize>().ok())
            .unwrap_or(1 << 20);
        match request.path.as_str() {
            "/internal" => Err(Error::internal(shout(bytes))),
            "/invalid" => Err(Error::invalid(shout(bytes))),
            "/log" => {
                log::error(&shout(bytes));
                Ok(Response::text(200, "logged"))
            }
            "/headers" => {
                let count = request
                    .query("count")
                    .and_then(|c| c.parse::<usize>().ok())
                    .unwrap_or(64);
                let mut response = Response::status(200);
                if request.query("alias").is_some() {
                    response.headers = aliased("etag", bytes, count);
                } else {
                    for _ in 0..count {
                        response = response.with_header("etag", &"e".repeat(bytes));
                    }
                }
                Ok(response)
            }
            _ => Ok(Response::not_found()),
        }
    }
}

/// `bytes` bytes of text with a forged log line every 64 bytes.
fn shout(bytes: usize) -> String {
    let line = "\nERROR tillit: forged line from the plugin, padding to 64 bytes.";
    let mut text = line.repeat(bytes / line.len() + 1);
    text.truncate(bytes);
    text
}

/// `count` headers whose values are the same `bytes` bytes of the plugin's
/// memory: what the canonical ABI allows a guest that writes its answer
/// itself. The host reads each value anew, so it copies `count * bytes`
/// while the plugin holds `bytes`.
#[allow(unsafe_code)]
fn aliased(name: &str, bytes: usize, count: usize) -> Vec<(String, String)> {
    let mut value = std::mem::ManuallyDrop::new("a".repeat(bytes));
    let (ptr, len, capacity) = (value.as_mut_ptr(), value.len(), value.capacity());
    (0..count)
        .map(|_| {
            // SAFETY: not safe, on purpose: `count` Strings own one buffer.
            // The host must refuse the answer before copying it (it is over
            // the hostcall fuel), so nothing reads, writes or frees these
            // after the call; a host that accepted it would make the guest
            // free the buffer `count` times after answering.
            let alias = unsafe { String::from_raw_parts(ptr, len, capacity) };
            (name.to_owned(), alias)
        })
        .collect()
}
