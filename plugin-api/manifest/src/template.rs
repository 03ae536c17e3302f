//! What a plugin's template may be, judged by parsing it: with Handlebars'
//! own parser, and the HTML around its expressions with a small tokenizer
//! of the subset plugins may write.
//!
//! A plugin's template is rendered by the kernel into a portal page that a
//! clinician's session is logged in to, so it must not be able to run
//! script there, not even by splitting a tag with a comment, putting a
//! newline inside `{{ {`, or handing the page a `javascript:` URL. The rules:
//!
//! - Handlebars: only escaped expressions (`{{…}}`); no raw output, partials,
//!   decorators or inline templates; only the helpers in [`HELPERS`]; block
//!   helpers start and end between tags, never inside one.
//! - HTML: only the tags in [`TAGS`]; no comments, doctypes or processing
//!   instructions; attribute names from a fixed shape, no event handlers
//!   (`on…`) or `style`; an expression only in text or in a quoted
//!   attribute value, never in a tag or attribute name.
//! - URLs (`href`, `src`, `action`, …): a static `#fragment`, a static
//!   `https:` link (`href` only), `{{mount}}` (the plugin's own path, from
//!   the kernel) followed by a static path without `..`, or exactly one
//!   `{{url …}}`, which the kernel checks at render time the same way.
//!
//! Text between tags is whatever the template says, escaped by the kernel
//! where it comes from data.

use handlebars::template::{Parameter, Template, TemplateElement};

/// The helpers a template may call: Handlebars' built-in control flow and
/// comparisons, and the kernel's `url`.
pub const HELPERS: &[&str] = &[
    "if", "unless", "each", "with", "lookup", "eq", "ne", "gt", "gte", "lt", "lte", "and", "or",
    "not", "len", "url",
];

/// The HTML elements a template may use.
pub const TAGS: &[&str] = &[
    "a",
    "abbr",
    "article",
    "aside",
    "b",
    "blockquote",
    "br",
    "button",
    "caption",
    "cite",
    "code",
    "col",
    "colgroup",
    "data",
    "dd",
    "del",
    "details",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "i",
    "img",
    "input",
    "ins",
    "kbd",
    "label",
    "legend",
    "li",
    "main",
    "mark",
    "meter",
    "nav",
    "ol",
    "optgroup",
    "option",
    "output",
    "p",
    "pre",
    "progress",
    "q",
    "s",
    "samp",
    "section",
    "select",
    "small",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "u",
    "ul",
    "var",
    "wbr",
];

/// Attributes whose value a browser may load or navigate to.
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "poster",
    "cite",
    "longdesc",
    "background",
    "ping",
    "srcset",
    "xlink:href",
    "manifest",
    "icon",
    "data",
];

/// Attributes that are never allowed, whatever their value.
const FORBIDDEN_ATTRIBUTES: &[&str] = &["style", "srcdoc", "is", "http-equiv", "xmlns"];

/// Checks a template; the error names the first offence and its line.
pub fn check_template(text: &str) -> Result<(), String> {
    let template = Template::compile(text).map_err(|e| format!("not a valid template: {e}"))?;
    let mut skeleton = Skeleton::default();
    walk(&template, &mut skeleton)?;
    check_html(&skeleton).map_err(|(at, offence)| {
        // The static text keeps the template's newlines (those inside an
        // expression or a comment aside), so this is the template's line.
        let line = skeleton.html[..at].matches('\n').count() + 1;
        format!("line {line}: {offence}")
    })
}

/// The template as HTML with its expressions as placeholders: what the
/// HTML check reads.
#[derive(Debug, Default)]
struct Skeleton {
    /// The static text, with one [`HOLE`] per expression and one
    /// [`BLOCK`] per start or end of a block helper's part.
    html: String,
    /// What each hole is, in order.
    holes: Vec<Hole>,
}

/// Stands for an expression in [`Skeleton::html`] (a private-use
/// character no template has a reason to contain).
const HOLE: char = '\u{E000}';
/// Marks where a block helper's part starts or ends.
const BLOCK: char = '\u{E001}';

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hole {
    /// `{{mount}}` or `{{@root.mount}}`: the plugin's own path.
    Mount,
    /// `{{url …}}`: a URL the kernel checks when it renders.
    Url,
    /// Anything else: escaped text.
    Value,
}

fn walk(t: &Template, out: &mut Skeleton) -> Result<(), String> {
    for element in &t.elements {
        match element {
            TemplateElement::RawString(s) => {
                if s.contains([HOLE, BLOCK]) {
                    return Err("the template contains reserved characters".to_owned());
                }
                out.html.push_str(s);
            }
            TemplateElement::Comment(_) => {}
            TemplateElement::HtmlExpression(_) => {
                return Err(format!(
                    "{}: raw output ({{{{{{…}}}}}} or {{{{&…}}}}) bypasses escaping",
                    line_of(out)
                ));
            }
            TemplateElement::Expression(h) => {
                let name = h.name.as_name().unwrap_or_default();
                let is_call = !h.params.is_empty() || !h.hash.is_empty();
                let hole = if is_call {
                    check_helper(name, out)?;
                    for p in h.params.iter().chain(h.hash.values()) {
                        check_parameter(p, out)?;
                    }
                    if name == "url" {
                        Hole::Url
                    } else {
                        Hole::Value
                    }
                } else if matches!(name, "mount" | "@root.mount") {
                    Hole::Mount
                } else if FORBIDDEN_HELPERS.contains(&name) {
                    return Err(format!(
                        "{}: `{name}` is not available to plugins",
                        line_of(out)
                    ));
                } else {
                    Hole::Value
                };
                out.html.push(HOLE);
                out.holes.push(hole);
            }
            TemplateElement::HelperBlock(h) => {
                let name = h.name.as_name().unwrap_or_default();
                check_helper(name, out)?;
                for p in h.params.iter().chain(h.hash.values()) {
                    check_parameter(p, out)?;
                }
                for part in [&h.template, &h.inverse].into_iter().flatten() {
                    out.html.push(BLOCK);
                    walk(part, out)?;
                    out.html.push(BLOCK);
                }
            }
            TemplateElement::PartialExpression(_) | TemplateElement::PartialBlock(_) => {
                return Err(format!(
                    "{}: partials are not available to plugins",
                    line_of(out)
                ));
            }
            TemplateElement::DecoratorExpression(_) | TemplateElement::DecoratorBlock(_) => {
                return Err(format!(
                    "{}: decorators and inline templates are not available to plugins",
                    line_of(out)
                ));
            }
            // Whatever a later Handlebars adds is refused until judged.
            _ => {
                return Err(format!("{}: not available to plugins", line_of(out)));
            }
        }
    }
    Ok(())
}

/// Built-in helpers that a bare `{{name}}` would call: `log` writes to the
/// kernel's log, `raw` and `inline` are not for plugins.
const FORBIDDEN_HELPERS: &[&str] = &[
    "log",
    "raw",
    "inline",
    "blockHelperMissing",
    "helperMissing",
];

fn check_helper(name: &str, out: &Skeleton) -> Result<(), String> {
    if HELPERS.contains(&name) {
        Ok(())
    } else {
        Err(format!(
            "{}: the helper `{name}` is not available to plugins",
            line_of(out)
        ))
    }
}

fn check_parameter(p: &Parameter, out: &Skeleton) -> Result<(), String> {
    if let Parameter::Subexpression(sub) = p {
        match sub.element.as_ref() {
            TemplateElement::Expression(h) | TemplateElement::HelperBlock(h) => {
                // `(name …)` always calls a helper.
                check_helper(h.name.as_name().unwrap_or_default(), out)?;
                for p in h.params.iter().chain(h.hash.values()) {
                    check_parameter(p, out)?;
                }
            }
            _ => return Err(format!("{}: not a helper call", line_of(out))),
        }
    }
    Ok(())
}

/// "line N" of the skeleton so far (static text keeps the template's
/// newlines, so this is the template's line).
fn line_of(out: &Skeleton) -> String {
    format!("line {}", out.html.matches('\n').count() + 1)
}

/// Where the HTML tokenizer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    /// Inside `<textarea>`: text up to `</textarea>`.
    TextArea,
}

fn check_html(s: &Skeleton) -> Result<(), (usize, String)> {
    let html = &s.html;
    let mut holes = s.holes.iter().copied();
    let mut state = State::Text;
    let mut i = 0;
    while i < html.len() {
        let rest = &html[i..];
        let c = rest.chars().next().unwrap_or(' ');
        match (state, c) {
            (State::TextArea, _) => {
                if rest.to_ascii_lowercase().starts_with("</textarea") {
                    state = State::Text;
                    continue;
                }
                if c == HOLE {
                    holes.next();
                }
                i += c.len_utf8();
            }
            (State::Text, HOLE) => {
                holes.next();
                i += c.len_utf8();
            }
            (State::Text, '<') => {
                let end = tag(html, i, &mut holes)?;
                let name = tag_name(&html[i..end]);
                if name == "textarea" {
                    state = State::TextArea;
                }
                i = end;
            }
            (State::Text, _) => i += c.len_utf8(),
        }
    }
    Ok(())
}

/// Checks the tag starting at `start` (a `<`) and returns where it ends
/// (after its `>`).
fn tag(
    html: &str,
    start: usize,
    holes: &mut impl Iterator<Item = Hole>,
) -> Result<usize, (usize, String)> {
    let bytes = html.as_bytes();
    let err = |at: usize, m: &str| Err((at, m.to_owned()));
    let mut i = start + 1;
    let closing = bytes.get(i) == Some(&b'/');
    if closing {
        i += 1;
    }
    let name_start = i;
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric()) {
        i += 1;
    }
    let name = html[name_start..i].to_ascii_lowercase();
    if name.is_empty() {
        return match html[i..].chars().next() {
            Some('!') | Some('?') => err(
                start,
                "HTML comments, doctypes and processing instructions are not allowed",
            ),
            Some(HOLE) | Some(BLOCK) => {
                err(start, "an expression or block may not make a tag's name")
            }
            // A lone `<` in text: browsers show it as text.
            _ => Ok(i),
        };
    }
    if !TAGS.contains(&name.as_str()) {
        return err(
            start,
            &format!("the element <{name}> is not allowed in plugin templates"),
        );
    }
    loop {
        // Between attributes.
        while i < bytes.len() && (bytes[i] as char).is_ascii_whitespace() {
            i += 1;
        }
        let Some(c) = html[i..].chars().next() else {
            return err(start, "a tag is not closed");
        };
        match c {
            '>' => return Ok(i + 1),
            '/' if bytes.get(i + 1) == Some(&b'>') => return Ok(i + 2),
            HOLE => return err(i, "an expression may not make an attribute's name"),
            BLOCK => return err(i, "a block helper may not start or end inside a tag"),
            _ if closing => return err(i, "a closing tag has no attributes"),
            _ => {}
        }
        let attr_start = i;
        while i < bytes.len()
            && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'-' | b'_' | b':'))
        {
            i += 1;
        }
        let attr = html[attr_start..i].to_ascii_lowercase();
        if attr.is_empty() {
            return err(
                i,
                "an attribute's name may only have letters, digits, `-`, `_` and `:`",
            );
        }
        if attr.starts_with("on") {
            return err(
                attr_start,
                &format!("event handler attributes ({attr}) are not allowed"),
            );
        }
        if FORBIDDEN_ATTRIBUTES.contains(&attr.as_str()) || attr.starts_with("xmlns") {
            return err(attr_start, &format!("the attribute {attr} is not allowed"));
        }
        while i < bytes.len() && (bytes[i] as char).is_ascii_whitespace() {
            i += 1;
        }
        if bytes.get(i) != Some(&b'=') {
            // A boolean attribute.
            continue;
        }
        i += 1;
        while i < bytes.len() && (bytes[i] as char).is_ascii_whitespace() {
            i += 1;
        }
        let (value, after) = match bytes.get(i) {
            Some(q @ (b'"' | b'\'')) => {
                let Some(len) = html[i + 1..].find(*q as char) else {
                    return err(i, "an attribute's quote is not closed");
                };
                (&html[i + 1..i + 1 + len], i + 2 + len)
            }
            _ => {
                let len = html[i..]
                    .find(|c: char| c.is_ascii_whitespace() || c == '>')
                    .unwrap_or(html.len() - i);
                let v = &html[i..i + len];
                if v.contains([HOLE, BLOCK]) {
                    return err(i, "an expression in an attribute needs the value quoted");
                }
                (v, i + len)
            }
        };
        if value.contains(BLOCK) {
            return err(i, "a block helper may not start or end inside a tag");
        }
        let kinds: Vec<Hole> = value
            .chars()
            .filter(|c| *c == HOLE)
            .map(|_| holes.next().unwrap_or(Hole::Value))
            .collect();
        if URL_ATTRIBUTES.contains(&attr.as_str()) {
            check_url(&attr, value, &kinds).map_err(|m| (attr_start, m))?;
        }
        i = after;
    }
}

fn tag_name(tag: &str) -> String {
    tag.trim_start_matches('<')
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The value of a URL attribute: see the module's rules.
fn check_url(attr: &str, value: &str, kinds: &[Hole]) -> Result<(), String> {
    let refuse = || {
        Err(format!(
            "{attr}=\"…\" may only be a #fragment, an https: link, {{{{mount}}}} and a path, or {{{{url …}}}}"
        ))
    };
    let v = value.trim();
    match kinds {
        [] if v.starts_with('#') => Ok(()),
        [] if attr == "href" && v.to_ascii_lowercase().starts_with("https://") => Ok(()),
        [Hole::Url] if v == HOLE.to_string() => Ok(()),
        [Hole::Mount] if v.starts_with(HOLE) => {
            let path = &v[HOLE.len_utf8()..];
            let safe = path.is_empty()
                || (path.starts_with(['/', '?', '#'])
                    && !path.contains("..")
                    && !path.contains('\\')
                    && !path.to_ascii_lowercase().contains("%2e")
                    && !path.chars().any(char::is_whitespace));
            if safe { Ok(()) } else { refuse() }
        }
        _ => refuse(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_templates_pass() {
        for good in [
            "<p>{{data.text}}</p>\n{{#each data.notes}}{{this}}{{/each}}",
            r#"<form method="post" action="{{@root.mount}}/note" data-tillit-submit>
                 <input type="hidden" name="_csrf" value="{{@root.csrf}}">
                 <textarea id="n-{{patient}}" name="text">{{text}}</textarea>
                 {{#if saved}}<span>{{label}}</span>{{else}}<span>-</span>{{/if}}
               </form>"#,
            r##"<a href="{{url data.link}}">x</a> <a href="https://example.se/help">?</a> <a href="#top">^</a>"##,
            "<p>a < b and {{#if (eq data.n 1)}}one{{/if}}</p><br/>",
            "{{!-- a comment --}}<img src=\"{{mount}}/pic?id=1\" alt=\"{{data.alt}}\">",
        ] {
            assert_eq!(check_template(good), Ok(()), "{good}");
        }
    }

    /// Each way a review got script into a page, and its neighbours.
    #[test]
    fn what_could_run_script_or_bypass_escaping_is_refused() {
        for bad in [
            "<p>\n{{{data.html}}}",
            "{{ {data.html} }}",
            "{{\n{data.html}\n}}",
            "{{\n&data.html}}",
            "{{&data.html}}",
            "{{> layout}}",
            "{{#> layout}}x{{/layout}}",
            "{{#*inline \"x\"}}<p>{{/inline}}",
            "<SCRIPT src=x>",
            "<scr{{!-- --}}ipt src=\"{{mount}}/evil.js\"></script>",
            "<scr{{!-- split --}}ipt>alert(1)</script>",
            "<a href=\"JavaScript:alert(1)\">",
            "<a href=\"{{data.url}}\">x</a>",
            "<a href=\"/logout\">x</a>",
            "<a href=\"{{mount}}/../../logout\">x</a>",
            "<a href=\"{{mount}}/%2e%2e/admin\">x</a>",
            "<form action=\"/admin/people\">",
            "<img src=\"https://tracker.example/p.gif\">",
            "<a href={{data.url}}>x</a>",
            "<p title={{data.t}}>x</p>",
            "<p onclick=\"x()\">x</p>",
            "<p {{data.attr}}=\"x\">",
            "<{{data.tag}}>",
            "<a {{#if data.x}}href{{else}}title{{/if}}=\"{{data.u}}\">x</a>",
            "<p style=\"background:url(x)\">",
            "<iframe src=\"{{mount}}/x\"></iframe>",
            "<svg><script>alert(1)</script></svg>",
            "<!-- <script> -->",
            "<base href=\"{{mount}}/\">",
            "{{log data.huge}}",
            "{{lookup (log data.x) 1}}",
            "{{frobnicate data.x}}",
            "<p>\u{E000}</p>",
        ] {
            assert!(check_template(bad).is_err(), "accepted: {bad}");
        }
    }

    #[test]
    fn the_offence_names_its_line() {
        let e = check_template("<p>ok</p>\n<p>ok</p>\n<p onclick=\"x\">").unwrap_err();
        assert!(e.starts_with("line 3:"), "{e}");
        let e = check_template("<p>\n{{{data.html}}}").unwrap_err();
        assert!(e.starts_with("line 2:"), "{e}");
    }
}
