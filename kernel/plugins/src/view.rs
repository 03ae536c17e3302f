//! What a plugin shows in a slot: a [`View`] (one of its templates and a
//! JSON object), rendered by the host's Handlebars with HTML escaping and
//! strict mode. A plugin never returns HTML, and its templates were checked
//! at load for anything that bypasses escaping (raw output, partials,
//! scripts).
//!
//! In a template `data` is the plugin's data; the kernel adds `mount`
//! (`/plugins/<id>`), `csrf` and `lang`.

use std::fmt;
use std::sync::Arc;

use handlebars::{Handlebars, RenderError, TemplateError};
use serde_json::json;

use crate::load::PluginInfo;

/// A plugin's answer to `render`: which of its templates, with what data.
#[derive(Clone)]
pub struct View {
    /// The plugin's id.
    pub plugin: String,
    /// The template's name (`panel` for `templates/panel.hbs`).
    pub template: String,
    /// A JSON object.
    pub data: serde_json::Value,
    /// The templates of the plugin version that answered, so a view renders
    /// with the templates it was made for even across a reload.
    templates: Arc<Templates>,
}

impl fmt::Debug for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("View")
            .field("plugin", &self.plugin)
            .field("template", &self.template)
            .field("data", &self.data)
            .finish_non_exhaustive()
    }
}

/// What the kernel's page adds to every template.
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    /// The page's CSRF token, for the plugin's forms.
    pub csrf: &'a str,
    /// The page's language (`sv` or `en`).
    pub lang: &'a str,
}

impl View {
    pub(crate) fn new(
        plugin: &str,
        template: String,
        data: serde_json::Value,
        templates: Arc<Templates>,
    ) -> Self {
        Self {
            plugin: plugin.to_owned(),
            template,
            data,
            templates,
        }
    }

    /// The view as HTML, every value escaped, for the kernel to put into
    /// its page.
    pub fn render(&self, page: &Page<'_>) -> Result<String, RenderError> {
        self.templates.registry.render(
            &registered_name(&self.plugin, &self.template),
            &template_data(self, page),
        )
    }
}

/// A plugin version's templates in a registry of their own.
pub(crate) struct Templates {
    registry: Handlebars<'static>,
}

impl fmt::Debug for Templates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Templates(..)")
    }
}

impl Templates {
    /// Parses `(name, source)` pairs; an error names the template.
    pub(crate) fn new(
        plugin: &str,
        sources: &[(String, String)],
    ) -> Result<Self, Box<TemplateError>> {
        let mut registry = Handlebars::new();
        configure(&mut registry);
        for (name, source) in sources {
            registry
                .register_template_string(&registered_name(plugin, name), source)
                .map_err(Box::new)?;
        }
        Ok(Self { registry })
    }

    pub(crate) fn has(&self, plugin: &str, template: &str) -> bool {
        self.registry
            .has_template(&registered_name(plugin, template))
    }
}

fn configure(registry: &mut Handlebars<'_>) {
    // A missing field is an error, not an empty string: a typo in a
    // plugin's template shows up in its tests, not as a blank in a page.
    registry.set_strict_mode(true);
    registry.register_escape_fn(handlebars::html_escape);
    registry.register_helper("url", Box::new(url_helper));
}

/// `{{url value}}`: a URL from the plugin's data, for `href`, `src` or
/// `action` (the only way data becomes a URL: the template check refuses
/// any other). Passed on if it is an `https:` link or a path under the
/// plugin's own mount without `..`; anything else becomes `#`.
fn url_helper(
    h: &handlebars::Helper<'_>,
    _: &Handlebars<'_>,
    ctx: &handlebars::Context,
    _: &mut handlebars::RenderContext<'_, '_>,
    out: &mut dyn handlebars::Output,
) -> handlebars::HelperResult {
    let value = h.param(0).and_then(|p| p.value().as_str()).unwrap_or("");
    let mount = ctx
        .data()
        .get("mount")
        .and_then(|m| m.as_str())
        .unwrap_or("");
    let shown = if safe_url(value, mount) { value } else { "#" };
    out.write(&handlebars::html_escape(shown))?;
    Ok(())
}

/// Whether `url` may be put into a plugin's page: `https://` with a host,
/// or a path under `mount` (`/plugins/<id>`), with no `..` (plain or
/// percent-encoded), backslash, whitespace or control character anywhere.
pub fn safe_url(url: &str, mount: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let clean = !url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
        && !lower.contains("..")
        && !lower.contains("%2e")
        && !lower.contains("%5c");
    let https = lower
        .strip_prefix("https://")
        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
    let own = !mount.is_empty()
        && url
            .strip_prefix(mount)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?', '#']));
    clean && (https || own)
}

/// The name a plugin's template is registered under: `plugin/<id>/<name>`,
/// so no plugin's template can shadow the kernel's or another plugin's.
pub fn registered_name(plugin: &str, template: &str) -> String {
    format!("plugin/{plugin}/{template}")
}

/// Registers a plugin's templates in the kernel's own registry under
/// [`registered_name`]. This also turns on strict mode and HTML escaping
/// for the whole registry; the kernel can instead use [`View::render`],
/// which needs no registry.
pub fn register_templates(
    registry: &mut Handlebars<'_>,
    plugin: &PluginInfo,
) -> Result<(), Box<TemplateError>> {
    configure(registry);
    for (name, source) in &plugin.templates {
        registry
            .register_template_string(&registered_name(&plugin.manifest.id, name), source)
            .map_err(Box::new)?;
    }
    Ok(())
}

/// Renders a view with a registry that has the plugin's templates
/// ([`register_templates`]).
pub fn render_view(
    registry: &Handlebars<'_>,
    view: &View,
    page: &Page<'_>,
) -> Result<String, RenderError> {
    registry.render(
        &registered_name(&view.plugin, &view.template),
        &template_data(view, page),
    )
}

fn template_data(view: &View, page: &Page<'_>) -> serde_json::Value {
    json!({
        "data": view.data,
        "mount": format!("/plugins/{}", view.plugin),
        "csrf": page.csrf,
        "lang": page.lang,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(source: &str, data: serde_json::Value) -> View {
        let templates = Templates::new("demo", &[("panel".into(), source.into())])
            .unwrap_or_else(|e| panic!("{e}"));
        View::new("demo", "panel".into(), data, Arc::new(templates))
    }

    const PAGE: Page<'static> = Page {
        csrf: "tok",
        lang: "sv",
    };

    #[test]
    fn values_are_escaped_and_the_kernel_adds_its_fields() {
        let v = view(
            r#"<form action="{{mount}}/x"><input value="{{csrf}}">{{data.name}}</form>"#,
            json!({ "name": "<script>alert(1)</script>" }),
        );
        assert_eq!(
            v.render(&PAGE).ok().as_deref(),
            Some(
                r#"<form action="/plugins/demo/x"><input value="tok">&lt;script&gt;alert(1)&lt;/script&gt;</form>"#
            )
        );
    }

    #[test]
    fn urls_from_data_are_the_plugins_own_paths_or_https() {
        let v = view(
            r#"{{#each data.links}}<a href="{{url this}}">x</a>{{/each}}"#,
            json!({ "links": [
                "/plugins/demo/doc/1",
                "https://example.se/help",
                "javascript:alert(1)",
                "JAVASCRIPT:alert(1)",
                "/plugins/demo/../../logout",
                "/plugins/demo/%2E%2E/admin",
                "/plugins/demox/steal",
                "/logout",
                "//evil.example/x",
                "https:///evil",
                "data:text/html,<script>",
                "/plugins/demo/\\..\\x",
            ] }),
        );
        let html = v.render(&PAGE).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            html,
            r##"<a href="/plugins/demo/doc/1">x</a><a href="https://example.se/help">x</a><a href="#">x</a><a href="#">x</a><a href="#">x</a><a href="#">x</a><a href="#">x</a><a href="#">x</a><a href="#">x</a><a href="#">x</a><a href="#">x</a><a href="#">x</a>"##
        );
    }

    #[test]
    fn a_missing_field_is_an_error_not_a_blank() {
        let v = view("{{data.nmae}}", json!({ "name": "x" }));
        assert!(v.render(&PAGE).is_err());
    }

    #[test]
    fn the_kernels_registry_gets_namespaced_templates() {
        let v = view("{{data.n}}", json!({ "n": "<b>" }));
        let mut hb = Handlebars::new();
        hb.register_template_string("panel", "kernel's own")
            .unwrap_or_else(|e| panic!("{e}"));
        let info = PluginInfo::for_tests("demo", vec![("panel".into(), "{{data.n}}".into())]);
        register_templates(&mut hb, &info).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            render_view(&hb, &v, &PAGE).ok().as_deref(),
            Some("&lt;b&gt;")
        );
        assert_eq!(
            hb.render("panel", &()).ok().as_deref(),
            Some("kernel's own")
        );
    }
}
