//! Hostile: views that are cheap for the plugin and dear for the kernel,
//! which renders them (see `plugin.toml` for the modes). The plugin's own
//! 32 MiB and 50 ms do not apply to the kernel's render; the host's limits
//! on view data and on rendering must.

use serde::Deserialize;
use tillit_plugin_sdk::{Error, Plugin, Result, Slot, View, context};

#[derive(Debug)]
pub struct Amplify;

tillit_plugin_sdk::register!(Amplify);

#[derive(Debug, Deserialize)]
struct Config {
    mode: String,
    size: i64,
}

impl Plugin for Amplify {
    fn render(_: Slot) -> Result<Option<View>> {
        let config: Config = context::config()?;
        let size = usize::try_from(config.size).unwrap_or(0);
        let hundred = (0..100).map(|i| i.to_string()).collect::<Vec<_>>();
        let list = format!("{{\"a\":[{}]}}", hundred.join(","));
        let view = |template: String, data: String| View { template, data };
        // Built in place: the plugin has 32 MiB, and these are most of it.
        Ok(Some(match config.mode.as_str() {
            "bomb" => view("bomb".into(), list),
            "churn" => view("churn".into(), list),
            // A long list of small numbers: the most parsed JSON per byte.
            "huge" => {
                let mut data = String::with_capacity(size.max(9));
                data.push_str("{\"a\":[");
                for _ in 0..size.saturating_sub(9) / 2 {
                    data.push_str("0,");
                }
                data.push_str("0]}");
                view("bomb".into(), data)
            }
            "deep" => view(
                "bomb".into(),
                format!("{{\"a\":{}{}}}", "[".repeat(size), "]".repeat(size)),
            ),
            "template" => view("b".repeat(size), list),
            other => return Err(Error::internal(format!("no mode {other}"))),
        }))
    }
}
