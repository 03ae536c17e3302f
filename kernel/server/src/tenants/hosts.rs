//! `hosts`: the host names a tenant is served on.

/// The host names in `hs`, lower-cased; the ones that are not host names
/// are left out, each with an issue.
pub(super) fn check_hosts(hs: Vec<String>, issues: &mut Vec<String>) -> Vec<String> {
    if hs.is_empty() {
        issues.push("hosts: expected at least one host name".into());
    }
    hs.into_iter()
        .filter_map(|h| {
            let lower = h.to_ascii_lowercase();
            if is_host_name(&lower) {
                Some(lower)
            } else {
                issues.push(format!(
                    "hosts: expected a host name such as \"ertnamn.example.se\", found \"{h}\""
                ));
                None
            }
        })
        .collect::<Vec<_>>()
}

fn is_host_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert!(is_host_name("demo.localhost"));
        assert!(is_host_name("ertnamn.example.se"));
        for bad in ["", "a..b", "-a.se", "a_b.se", "a b", "http://x"] {
            assert!(!is_host_name(bad), "{bad}");
        }
    }
}
