//! Capability `context`: who is calling, in which visit, with what
//! configuration. Manifest name: `context`.

use serde::de::DeserializeOwned;

pub use crate::bindings::tillit::plugin::context::Caller;
use crate::{Error, Result, Role, Visit};

#[cfg(target_arch = "wasm32")]
use crate::bindings::tillit::plugin::context as host;
#[cfg(not(target_arch = "wasm32"))]
use crate::testing::imports::context as host;

/// The person on whose behalf the plugin runs; `None` during events.
pub fn caller() -> Option<Caller> {
    host::current_caller()
}

/// The caller, or [`Error::Denied`] when there is none: for handlers that
/// only make sense for a person.
pub fn require_caller() -> Result<Caller> {
    caller().ok_or(Error::Denied)
}

/// The visit the call is about: the room a panel is rendered in, the visit
/// of a request made from a room, or the visit an event is about.
pub fn visit() -> Option<Visit> {
    host::current_visit()
}

/// The tenant's configuration for this plugin as JSON: every key of the
/// manifest's `[config]`, with the tenant's value or the default.
pub fn config_json() -> String {
    host::config()
}

/// The tenant's configuration, deserialised. Declare a struct with the
/// manifest's `[config]` keys; a mismatch is a bug in the plugin or its
/// manifest, so it is an [`Error::Internal`].
pub fn config<T: DeserializeOwned>() -> Result<T> {
    serde_json::from_str(&config_json()).map_err(|e| Error::internal(format!("config: {e}")))
}

/// The languages plugins are expected to speak; Swedish is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Sv,
    En,
}

impl Lang {
    /// The language for a BCP 47 tag: English for `en` and `en-*`, Swedish
    /// for everything else.
    pub fn from_tag(tag: &str) -> Lang {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("en") {
            Lang::En
        } else {
            Lang::Sv
        }
    }

    /// `sv` or `en`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Sv => "sv",
            Lang::En => "en",
        }
    }
}

impl Caller {
    /// Whether the caller has `role`.
    pub fn is(&self, role: Role) -> bool {
        self.role == role
    }

    /// The caller's language, as one the plugin speaks.
    pub fn lang(&self) -> Lang {
        Lang::from_tag(&self.language)
    }
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn english_only_for_english_tags() {
        assert_eq!(Lang::from_tag("en"), Lang::En);
        assert_eq!(Lang::from_tag("en-GB"), Lang::En);
        assert_eq!(Lang::from_tag("EN"), Lang::En);
        assert_eq!(Lang::from_tag("sv-SE"), Lang::Sv);
        assert_eq!(Lang::from_tag("fi"), Lang::Sv);
        assert_eq!(Lang::from_tag(""), Lang::Sv);
    }
}
