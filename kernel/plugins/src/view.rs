//! What a plugin shows in a slot: a [`View`] (one of its templates and a
//! JSON object), rendered by the host's Handlebars with HTML escaping and
//! strict mode. A plugin never returns HTML, and its templates were checked
//! at load for anything that bypasses escaping (raw output, partials,
//! scripts).
//!
//! Rendering is bounded, since a few bytes of data can ask for much more:
//! three nested `#each` over a list of a hundred render a million times the
//! innermost block. The view's data was bounded in size and depth before it
//! was parsed ([`crate::Limits::view_data`], [`crate::Limits::view_depth`]);
//! its HTML is written through an output that fails once it holds more
//! than [`crate::Limits::view_html`] bytes or the render has run for
//! [`crate::Limits::view_time`]. An `#each` that writes nothing would not be
//! noticed by that output, so at load every `#each` block gets a checkpoint
//! at the end of its body, where the clock is read once per iteration.
//!
//! In a template `data` is the plugin's data; the kernel adds `mount`
//! (`/plugins/<id>`), `csrf` and `lang`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use handlebars::template::{Parameter, TemplateElement};
use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError,
    Renderable, Template, TemplateError,
};
use serde_json::json;

/// How far one view may go when it renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RenderLimits {
    /// Bytes of HTML.
    pub html: usize,
    /// Time rendering.
    pub time: Duration,
}

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
    limits: RenderLimits,
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

/// Why a view did not render. The kernel shows the slot as it shows any
/// failing plugin.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error(
        "plugin {plugin}: its view rendered to more than {limit} bytes of HTML and was stopped"
    )]
    TooLarge { plugin: String, limit: usize },
    #[error("plugin {plugin}: its view took longer than {limit:?} to render and was stopped")]
    TooSlow { plugin: String, limit: Duration },
    #[error("plugin {plugin}: {error}")]
    Template {
        plugin: String,
        error: Box<RenderError>,
    },
}

impl View {
    pub(crate) fn new(
        plugin: &str,
        template: String,
        data: serde_json::Value,
        templates: Arc<Templates>,
        limits: RenderLimits,
    ) -> Self {
        Self {
            plugin: plugin.to_owned(),
            template,
            data,
            templates,
            limits,
        }
    }

    /// The view as HTML, every value escaped, for the kernel to put into
    /// its page; or why not, within the limits of the host that made the
    /// view (bytes of HTML, time).
    pub fn render(&self, page: &Page<'_>) -> Result<String, ViewError> {
        let failed = |error: RenderError| ViewError::Template {
            plugin: self.plugin.clone(),
            error: Box::new(error),
        };
        let registry = &self.templates.registry;
        let name = registered_name(&self.plugin, &self.template);
        let template = registry
            .get_template(&name)
            .ok_or_else(|| failed(handlebars::RenderErrorReason::TemplateNotFound(name).into()))?;
        let context = Context::from(template_data(self, page));
        let mut out = Bounded::new(self.limits);
        // What `Handlebars::render` does, into an output of our own.
        let mut rc = RenderContext::new(template.name.as_ref());
        let rendered = template.render(registry, &context, &mut rc, &mut out);
        match (out.over, rendered) {
            (Some(Over::Size), _) => Err(ViewError::TooLarge {
                plugin: self.plugin.clone(),
                limit: self.limits.html,
            }),
            (Some(Over::Time), _) => Err(ViewError::TooSlow {
                plugin: self.plugin.clone(),
                limit: self.limits.time,
            }),
            (None, Err(e)) => Err(failed(e)),
            (None, Ok(())) => Ok(out.html),
        }
    }
}

/// Which limit a render went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Over {
    Size,
    Time,
}

/// The HTML of one render, failing every write once it went over a limit.
struct Bounded {
    html: String,
    limits: RenderLimits,
    deadline: Instant,
    writes: u32,
    over: Option<Over>,
}

impl Bounded {
    fn new(limits: RenderLimits) -> Self {
        Self {
            html: String::new(),
            limits,
            deadline: Instant::now() + limits.time,
            writes: 0,
            over: None,
        }
    }

    fn stop(&mut self, over: Over) -> std::io::Error {
        self.over.get_or_insert(over);
        std::io::Error::other("the view went over its limits")
    }
}

impl Output for Bounded {
    fn write(&mut self, segment: &str) -> std::io::Result<()> {
        if let Some(over) = self.over {
            return Err(self.stop(over));
        }
        if self.html.len().saturating_add(segment.len()) > self.limits.html {
            return Err(self.stop(Over::Size));
        }
        // The clock at every checkpoint (an empty write, once per `#each`
        // iteration) and every 64th write: often enough to stop within a
        // few microseconds of work, rarely enough to cost nothing.
        self.writes = self.writes.wrapping_add(1);
        if (segment.is_empty() || self.writes.is_multiple_of(64)) && Instant::now() >= self.deadline
        {
            return Err(self.stop(Over::Time));
        }
        self.html.push_str(segment);
        Ok(())
    }
}

/// The helper the checkpoints call: an empty write, which the output
/// ([`Bounded`]) takes as the moment to look at the clock.
struct Checkpoint;

/// Its name. A helper goes before data of the same name, so a plugin's
/// data cannot take its place.
const CHECKPOINT: &str = "tillit_checkpoint";

impl HelperDef for Checkpoint {
    fn call<'reg: 'rc, 'rc>(
        &self,
        _: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        out.write("")?;
        Ok(())
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
    /// Parses `(name, source)` pairs, with a checkpoint in every `#each`;
    /// an error names the template.
    pub(crate) fn new(
        plugin: &str,
        sources: &[(String, String)],
    ) -> Result<Self, Box<TemplateError>> {
        let mut registry = Handlebars::new();
        // A missing field is an error, not an empty string: a typo in a
        // plugin's template shows up in its tests, not as a blank in a page.
        registry.set_strict_mode(true);
        registry.register_escape_fn(handlebars::html_escape);
        registry.register_helper(CHECKPOINT, Box::new(Checkpoint));
        registry.register_helper("url", Box::new(url_helper));
        let checkpoint = Template::compile(&format!("{{{{{CHECKPOINT}}}}}"))
            .map_err(Box::new)?
            .elements
            .pop();
        for (name, source) in sources {
            let registered = registered_name(plugin, name);
            let mut template = Template::compile(source)
                .map_err(|e| Box::new(e.in_template(registered.clone())))?;
            if let Some(checkpoint) = &checkpoint {
                add_checkpoints(&mut template, checkpoint);
            }
            template.name = Some(registered.clone());
            registry.register_template(&registered, template);
        }
        Ok(Self { registry })
    }

    pub(crate) fn has(&self, plugin: &str, template: &str) -> bool {
        self.registry
            .has_template(&registered_name(plugin, template))
    }
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

/// Appends `checkpoint` to the body of every `#each` in `template`, at any
/// depth: each iteration then looks at the clock, even one that writes
/// nothing.
fn add_checkpoints(template: &mut Template, checkpoint: &TemplateElement) {
    for element in &mut template.elements {
        if let TemplateElement::HelperBlock(block) = element {
            let is_each = matches!(&block.name, Parameter::Name(n) if n == "each");
            if let Some(body) = &mut block.template {
                add_checkpoints(body, checkpoint);
                if is_each {
                    body.elements.push(checkpoint.clone());
                }
            }
            if let Some(inverse) = &mut block.inverse {
                add_checkpoints(inverse, checkpoint);
            }
        }
    }
}

/// The name a plugin's template is registered under: `plugin/<id>/<name>`.
fn registered_name(plugin: &str, template: &str) -> String {
    format!("plugin/{plugin}/{template}")
}

fn template_data(view: &View, page: &Page<'_>) -> serde_json::Value {
    json!({
        "data": view.data,
        "mount": format!("/plugins/{}", view.plugin),
        "csrf": page.csrf,
        "lang": page.lang,
    })
}

/// Whether `json` nests arrays and objects at most `max` deep, read
/// without parsing it (the point is not to build what is too deep).
pub(crate) fn nests_within(json: &str, max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for b in json.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: RenderLimits = RenderLimits {
        html: 64 << 10,
        time: Duration::from_millis(100),
    };

    fn view_with(source: &str, data: serde_json::Value, limits: RenderLimits) -> View {
        let templates = Templates::new("demo", &[("panel".into(), source.into())])
            .unwrap_or_else(|e| panic!("{e}"));
        View::new("demo", "panel".into(), data, Arc::new(templates), limits)
    }

    fn view(source: &str, data: serde_json::Value) -> View {
        view_with(source, data, LIMITS)
    }

    const PAGE: Page<'static> = Page {
        csrf: "tok",
        lang: "sv",
    };

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
    fn a_missing_field_is_an_error_not_a_blank() {
        let v = view("{{data.nmae}}", json!({ "name": "x" }));
        assert!(matches!(v.render(&PAGE), Err(ViewError::Template { .. })));
    }

    #[test]
    fn checkpoints_change_nothing_a_template_renders() {
        let source = "{{#each data.rows}}{{@index}}{{#if @first}}F{{/if}}{{#each cells as |c|}}[{{c}}{{#if @last}}.{{/if}}]{{/each}}{{else}}none{{/each}}\
            {{#each data.map}}{{@key}}={{this}};{{/each}}{{#each data.empty}}x{{else}}empty{{/each}}";
        let data = json!({
            "rows": [{ "cells": ["a", "<b>"] }, { "cells": [] }],
            "map": { "k": 1, "l": 2 },
            "empty": [],
        });
        let mut plain = Handlebars::new();
        plain.set_strict_mode(true);
        plain
            .register_template_string("t", source)
            .unwrap_or_else(|e| panic!("{e}"));
        let expected = plain
            .render(
                "t",
                &json!({ "data": data, "mount": "/plugins/demo", "csrf": "tok", "lang": "sv" }),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(view(source, data).render(&PAGE).ok(), Some(expected));
    }

    #[test]
    fn html_stops_at_its_limit() {
        // 100 items, three nested loops: a million paragraphs from 300
        // bytes of data.
        let v = view(
            "{{#each data.a}}{{#each @root.data.a}}{{#each @root.data.a}}<p>{{this}}</p>{{/each}}{{/each}}{{/each}}",
            json!({ "a": (0..100).collect::<Vec<_>>() }),
        );
        let started = Instant::now();
        let e = v.render(&PAGE).err();
        assert!(
            matches!(e, Some(ViewError::TooLarge { limit, .. }) if limit == LIMITS.html),
            "{e:?}"
        );
        assert!(started.elapsed() < LIMITS.time, "{:?}", started.elapsed());
    }

    #[test]
    fn loops_that_write_nothing_stop_at_the_time_limit() {
        // A hundred million iterations and not a byte written.
        let limits = RenderLimits {
            html: 1 << 20,
            time: Duration::from_millis(20),
        };
        let v = view_with(
            "{{#each data.a}}{{#each @root.data.a}}{{#each @root.data.a}}{{#each @root.data.a}}{{/each}}{{/each}}{{/each}}{{/each}}",
            json!({ "a": (0..100).collect::<Vec<_>>() }),
            limits,
        );
        let started = Instant::now();
        let e = v.render(&PAGE).err();
        let took = started.elapsed();
        assert!(matches!(e, Some(ViewError::TooSlow { .. })), "{e:?}");
        assert!(took < 10 * limits.time, "stopped only after {took:?}");
    }

    #[test]
    fn depth_is_read_without_parsing() {
        assert!(nests_within(r#"{"a":[{"b":[]}]}"#, 4));
        assert!(!nests_within(r#"{"a":[{"b":[]}]}"#, 3));
        // Brackets inside strings, escaped quotes included, do not count.
        assert!(nests_within(r#"{"a":"[[[{{\"[[["}"#, 1));
        assert!(!nests_within(&"[".repeat(33), 32));
        assert!(nests_within(
            &format!("{}{}", "[".repeat(32), "]".repeat(32)),
            32
        ));
    }
}
