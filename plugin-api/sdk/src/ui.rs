//! What a plugin shows in the kernel's pages.
//!
//! The manifest lists the slots a plugin fills (`slots = ["visit-panel"]`)
//! and its Handlebars templates (`templates = ["templates/panel.hbs"]`).
//! [`crate::Plugin::render`] answers with a [`View`]: the name of a template
//! and its data. The kernel renders the template with HTML escaping; in the
//! template, the plugin's data is `data`, and the kernel adds `mount` (the
//! URL prefix of the plugin's routes, such as `/plugins/notes`), `csrf` (the
//! token for state-changing requests) and `lang` (`sv` or `en`). Templates
//! may not contain scripts; the kernel's pages drive them through `data-`
//! attributes (see `plugin-api/README.md`).

use serde::Serialize;

pub use crate::bindings::exports::tillit::plugin::ui::{Slot, View};
use crate::{Error, Result};

impl View {
    /// A view of `template` (a template's file name without `.hbs`) with
    /// `data` serialised to JSON; `data` must serialise to an object.
    pub fn new<T: Serialize + ?Sized>(template: &str, data: &T) -> Result<View> {
        let value =
            serde_json::to_value(data).map_err(|e| Error::internal(format!("view data: {e}")))?;
        if !value.is_object() {
            return Err(Error::internal("view data must be a JSON object"));
        }
        Ok(View {
            template: template.to_owned(),
            data: value.to_string(),
        })
    }

    /// The data as JSON, for tests.
    pub fn data_json(&self) -> Result<serde_json::Value> {
        serde_json::from_str(&self.data).map_err(|e| Error::internal(format!("view data: {e}")))
    }
}

impl Slot {
    /// The slot's name as in the manifest's `slots` list.
    pub fn kind(&self) -> &'static str {
        match self {
            Slot::VisitPanel => "visit-panel",
            Slot::ProfileSection(_) => "profile-section",
            Slot::BetweenVisitsPage => "between-visits-page",
        }
    }
}
