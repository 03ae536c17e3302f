//! The plugin's own routes: [`Request`] and [`Response`], with helpers.
//!
//! The kernel mounts a plugin at `/plugins/<id>`; a request for
//! `/plugins/notes/note?patient=p_1` reaches [`crate::Plugin::on_request`]
//! with `path` `/note` and `query` `[("patient", "p_1")]`. Before that, the
//! kernel has authenticated the caller, checked CSRF on state-changing
//! methods, matched a route the manifest declares and capped the body size.
//! Requests carry only a few headers (never cookies or credentials), and
//! the kernel keeps only a few response headers (see the WIT docs).

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::bindings::exports::tillit::plugin::http::{Method, Request, Response};
use crate::{Error, Result};

impl Method {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

impl Request {
    /// A request with no query, headers or body (for tests).
    pub fn new(method: Method, path: &str) -> Request {
        Request {
            method,
            path: path.to_owned(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a query parameter (for tests).
    pub fn with_query(mut self, name: &str, value: &str) -> Request {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds a header; the name is lower-cased (for tests).
    pub fn with_header(mut self, name: &str, value: &str) -> Request {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// Sets a JSON body and its content type (for tests).
    pub fn with_json<T: Serialize + ?Sized>(self, body: &T) -> Request {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        self.with_body("application/json", bytes)
    }

    /// Sets a body and its content type (for tests).
    pub fn with_body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Request {
        self.headers.retain(|(n, _)| n != "content-type");
        self.headers
            .push(("content-type".to_owned(), content_type.to_owned()));
        self.body = body.into();
        self
    }

    /// The first query parameter called `name`.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The media type of the body, without parameters, lower-cased.
    pub fn content_type(&self) -> Option<String> {
        self.header("content-type").map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
    }

    /// The body as UTF-8 text, or [`Error::Invalid`].
    pub fn text(&self) -> Result<&str> {
        std::str::from_utf8(&self.body).map_err(|_| Error::invalid("the body is not UTF-8"))
    }

    /// The body as JSON. [`Error::Invalid`] if the content type is set and
    /// is not JSON, or the body does not deserialise as `T`; the message
    /// says where.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        if let Some(ct) = self.content_type()
            && ct != "application/json"
            && !ct.ends_with("+json")
        {
            return Err(Error::invalid(format!(
                "expected an application/json body, got {ct}"
            )));
        }
        serde_json::from_slice(&self.body).map_err(|e| Error::invalid(format!("body: {e}")))
    }

    /// The body as `application/x-www-form-urlencoded` fields, decoded, in
    /// order; [`Error::Invalid`] if it is not valid UTF-8 after decoding.
    pub fn form(&self) -> Result<Vec<(String, String)>> {
        parse_urlencoded(&self.body)
    }
}

/// Decodes `a=1&b=x+y%21` into pairs; `+` is a space.
pub fn parse_urlencoded(body: &[u8]) -> Result<Vec<(String, String)>> {
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut parts = pair.splitn(2, |&b| b == b'=');
            let name = percent_decode(parts.next().unwrap_or_default())?;
            let value = percent_decode(parts.next().unwrap_or_default())?;
            Ok((name, value))
        })
        .collect()
}

fn percent_decode(input: &[u8]) -> Result<String> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = input
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| Error::invalid("a form field has a bad %-escape"))?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| Error::invalid("a form field is not UTF-8"))
}

impl Response {
    /// An empty response with `status`.
    pub fn status(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// 200 with `body` as JSON.
    pub fn json<T: Serialize + ?Sized>(body: &T) -> Response {
        Response::json_status(200, body)
    }

    /// `status` with `body` as JSON. A body that cannot be serialised (a
    /// map with non-string keys, say) gives a 500 and a log line.
    pub fn json_status<T: Serialize + ?Sized>(status: u16, body: &T) -> Response {
        match serde_json::to_vec(body) {
            Ok(bytes) => Response::status(status)
                .with_header("content-type", "application/json")
                .with_body(bytes),
            Err(e) => {
                crate::log::error(&format!("response body: {e}"));
                Response::status(500)
            }
        }
    }

    /// `status` with a plain-text body.
    pub fn text(status: u16, body: &str) -> Response {
        Response::status(status)
            .with_header("content-type", "text/plain; charset=utf-8")
            .with_body(body.as_bytes().to_vec())
    }

    /// 204, no body.
    pub fn no_content() -> Response {
        Response::status(204)
    }

    /// 404, no body.
    pub fn not_found() -> Response {
        Response::status(404)
    }

    /// 405 with the `allow` header listing `allowed`.
    pub fn method_not_allowed(allowed: &[Method]) -> Response {
        let allow = allowed
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        Response::status(405).with_header("allow", &allow)
    }

    /// Adds a header (the kernel keeps only the ones the WIT docs list).
    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// Replaces the body.
    pub fn with_body(mut self, body: Vec<u8>) -> Response {
        self.body = body;
        self
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (for tests).
    pub fn body_json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body).map_err(|e| Error::internal(format!("body: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_plus_and_escapes() {
        let fields = parse_urlencoded(b"text=Hej+d%C3%A5%21&empty=&flag").unwrap_or_default();
        assert_eq!(
            fields,
            vec![
                ("text".to_owned(), "Hej då!".to_owned()),
                ("empty".to_owned(), String::new()),
                ("flag".to_owned(), String::new()),
            ]
        );
    }

    #[test]
    fn bad_escapes_are_invalid_not_panics() {
        for body in [&b"a=%"[..], b"a=%4", b"a=%zz", b"a=%ff"] {
            assert!(matches!(parse_urlencoded(body), Err(Error::Invalid(_))));
        }
    }

    #[test]
    fn json_bodies_check_the_content_type() {
        let ok = Request::new(Method::Put, "/x").with_json(&serde_json::json!({"a": 1}));
        assert_eq!(
            ok.json::<serde_json::Value>().ok(),
            Some(serde_json::json!({"a": 1}))
        );
        let wrong = Request::new(Method::Put, "/x").with_body("text/plain", b"{}".to_vec());
        assert!(matches!(
            wrong.json::<serde_json::Value>(),
            Err(Error::Invalid(_))
        ));
        let broken = Request::new(Method::Put, "/x").with_body("application/json", b"{".to_vec());
        assert!(matches!(
            broken.json::<serde_json::Value>(),
            Err(Error::Invalid(_))
        ));
    }

    #[test]
    fn responses_say_what_they_are() {
        let r = Response::json_status(409, &serde_json::json!({"version": 3}));
        assert_eq!(r.status, 409);
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        assert_eq!(r.body_json().ok(), Some(serde_json::json!({"version": 3})));
        let r = Response::method_not_allowed(&[Method::Get, Method::Put]);
        assert_eq!((r.status, r.header("allow")), (405, Some("GET, PUT")));
    }
}
