//! What of a plugin's answer reaches the browser. A plugin's route is on
//! the portal's origin, so whatever it serves must not be something a
//! browser runs or renders as a page: only data types pass (JSON, text,
//! images, downloads), every other header is dropped, and the answer is
//! sandboxed should a browser open it as a document anyway.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The types a plugin may answer with, and whether a browser should save
/// rather than show them.
const TYPES: &[(&str, Delivery)] = &[
    ("application/json", Delivery::Inline),
    ("text/plain", Delivery::Inline),
    ("image/png", Delivery::Inline),
    ("image/jpeg", Delivery::Inline),
    ("image/gif", Delivery::Inline),
    ("image/webp", Delivery::Inline),
    ("text/csv", Delivery::Download),
    ("application/pdf", Delivery::Download),
    ("application/octet-stream", Delivery::Download),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    Inline,
    Download,
}

/// Headers a plugin may set besides its content type.
const PASSED: &[HeaderName] = &[
    header::CACHE_CONTROL,
    header::ETAG,
    header::LAST_MODIFIED,
    header::CONTENT_LANGUAGE,
];

/// The policy on every plugin answer: a document opened from it runs in a
/// sandbox (a unique origin, no script) and loads nothing.
const SANDBOX: &str = "sandbox; default-src 'none'; frame-ancestors 'none'";

/// Why an answer was not passed on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the content type is not one plugins may serve")]
    ContentType,
    #[error("plugins may not redirect or answer with status {0}")]
    Status(u16),
}

/// The response for a plugin's answer, or why it may not reach a browser.
pub fn to_browser(
    status: u16,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> Result<Response, Refused> {
    let status = match StatusCode::from_u16(status) {
        Ok(s) if s.is_success() || s.is_client_error() || s.is_server_error() => s,
        _ => return Err(Refused::Status(status)),
    };
    let declared = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let (essence, delivery) = match declared.as_deref() {
        None if body.is_empty() => ("text/plain", Delivery::Inline),
        None => ("application/octet-stream", Delivery::Download),
        Some(t) => *TYPES
            .iter()
            .find(|(known, _)| *known == t)
            .ok_or(Refused::ContentType)?,
    };
    let mut out = HeaderMap::new();
    let content_type = if essence.starts_with("text/") || essence == "application/json" {
        format!("{essence}; charset=utf-8")
    } else {
        essence.to_owned()
    };
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        out.insert(header::CONTENT_TYPE, v);
    }
    if delivery == Delivery::Download {
        out.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment"),
        );
    }
    for (name, value) in headers {
        if let (Some(name), Ok(value)) = (
            PASSED
                .iter()
                .find(|p| p.as_str().eq_ignore_ascii_case(name)),
            HeaderValue::from_str(value),
        ) && value.len() <= 256
        {
            out.insert(name.clone(), value);
        }
    }
    out.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(SANDBOX),
    );
    out.insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    );
    Ok((status, out, body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn what_a_browser_would_run_or_render_is_refused() {
        for t in [
            "text/javascript",
            "application/javascript",
            "text/html",
            "TEXT/HTML; charset=utf-8",
            "image/svg+xml",
            "application/xhtml+xml",
            "application/xml",
            "text/xml",
            "text/css",
            "multipart/x-mixed-replace",
            "",
        ] {
            assert_eq!(
                to_browser(200, &headers(&[("Content-Type", t)]), b"x".to_vec()).err(),
                Some(Refused::ContentType),
                "{t}"
            );
        }
        assert_eq!(
            to_browser(302, &headers(&[("location", "/logout")]), Vec::new()).err(),
            Some(Refused::Status(302))
        );
    }

    #[test]
    fn data_passes_sandboxed_and_only_known_headers_with_it() {
        let r = to_browser(
            200,
            &headers(&[
                ("content-type", "application/json"),
                ("set-cookie", "tillit_session=stolen"),
                ("content-security-policy", "script-src *"),
                ("access-control-allow-origin", "*"),
                ("cache-control", "no-store"),
            ]),
            b"{}".to_vec(),
        )
        .unwrap();
        let h = r.headers();
        assert_eq!(h[header::CONTENT_TYPE], "application/json; charset=utf-8");
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], SANDBOX);
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert!(h.get(header::SET_COOKIE).is_none());
        assert!(h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        let pdf = to_browser(
            200,
            &headers(&[("content-type", "application/pdf")]),
            b"%PDF".to_vec(),
        )
        .unwrap();
        assert_eq!(pdf.headers()[header::CONTENT_DISPOSITION], "attachment");
    }
}
