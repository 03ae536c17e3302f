//! A plugin's HTTP routes as the kernel sees them: requests in, responses
//! out, and the filtering in between (only harmless headers reach the
//! plugin, only harmless ones come back, declared routes only).

use tillit_plugin_manifest::{Manifest, Method};

/// A request below `/plugins/<id>`, after the kernel authenticated the
/// caller, checked CSRF and capped the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: Method,
    /// Below the mount, starting with `/`, percent-decoded.
    pub path: String,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// Any headers: the host passes on only [`FORWARDED_REQUEST_HEADERS`].
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn with_query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn with_body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.headers
            .push(("content-type".to_owned(), content_type.to_owned()));
        self.body = body.into();
        self
    }
}

/// A plugin's answer, with only [`KEPT_RESPONSE_HEADERS`] left in. The
/// kernel adds its own security headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The request headers plugins see; never cookies or credentials.
pub const FORWARDED_REQUEST_HEADERS: [&str; 5] = [
    "accept",
    "accept-language",
    "content-type",
    "if-match",
    "if-none-match",
];

/// The response headers the kernel keeps (`location` only same-origin).
pub const KEPT_RESPONSE_HEADERS: [&str; 8] = [
    "content-type",
    "cache-control",
    "etag",
    "last-modified",
    "content-disposition",
    "allow",
    "retry-after",
    "location",
];

/// How a request matches a plugin's declared routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteMatch {
    Found,
    /// The path is declared, not with this method: answer 405 with these.
    MethodNotAllowed(Vec<Method>),
    /// No declared route has this path: answer 404.
    NotFound,
}

/// Matches a request against the manifest's routes. The kernel can ask
/// before calling; [`crate::PluginHost::handle_http`] checks it again.
pub fn match_route(manifest: &Manifest, method: Method, path: &str) -> RouteMatch {
    let mut allowed: Vec<Method> = Vec::new();
    for route in manifest.routes.iter().filter(|r| r.matches(path)) {
        if route.methods.contains(&method) {
            return RouteMatch::Found;
        }
        allowed.extend(route.methods.iter().copied());
    }
    if allowed.is_empty() {
        RouteMatch::NotFound
    } else {
        allowed.sort();
        allowed.dedup();
        RouteMatch::MethodNotAllowed(allowed)
    }
}

pub(crate) fn forwarded_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            let name = name.to_ascii_lowercase();
            FORWARDED_REQUEST_HEADERS
                .contains(&name.as_str())
                .then(|| (name, value.clone()))
        })
        .collect()
}

pub(crate) fn kept_headers(headers: Vec<(String, String)>) -> Vec<(String, String)> {
    headers
        .into_iter()
        .filter_map(|(name, value)| {
            let name = name.to_ascii_lowercase();
            let kept = KEPT_RESPONSE_HEADERS.contains(&name.as_str())
                && !value.bytes().any(|b| b.is_ascii_control() && b != b'\t')
                && (name != "location" || is_same_origin(&value));
            kept.then_some((name, value))
        })
        .collect()
}

/// A path on this origin: `/x`, never `//host` or `/\host` (which browsers
/// treat as another origin) or a URL with a scheme.
fn is_same_origin(location: &str) -> bool {
    location.starts_with('/') && !location.starts_with("//") && !location.starts_with("/\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_harmless_headers_pass_either_way() {
        let inbound = forwarded_headers(&[
            ("Cookie".into(), "session=1".into()),
            ("Authorization".into(), "Bearer x".into()),
            ("Content-Type".into(), "application/json".into()),
            ("If-Match".into(), "\"3\"".into()),
        ]);
        assert_eq!(
            inbound,
            [
                ("content-type".to_owned(), "application/json".to_owned()),
                ("if-match".to_owned(), "\"3\"".to_owned())
            ]
        );
        let outbound = kept_headers(vec![
            ("Set-Cookie".into(), "session=evil".into()),
            ("Content-Security-Policy".into(), "none".into()),
            ("Cache-Control".into(), "no-store".into()),
            ("location".into(), "/plugins/notes/note".into()),
            ("location".into(), "//evil.example".into()),
            ("location".into(), "/\\evil.example".into()),
            ("location".into(), "https://evil.example".into()),
            ("etag".into(), "\"1\"\r\nSet-Cookie: x".into()),
        ]);
        assert_eq!(
            outbound,
            [
                ("cache-control".to_owned(), "no-store".to_owned()),
                ("location".to_owned(), "/plugins/notes/note".to_owned())
            ]
        );
    }
}
