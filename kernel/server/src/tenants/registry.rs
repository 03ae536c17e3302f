//! Finding the tenant that serves a request, by host name or by id.

use std::collections::HashMap;
use std::sync::Arc;

use tillit_domain::TenantId;

use super::Tenant;

/// Finds the tenant for a request's `Host` header.
#[derive(Debug, Clone)]
pub struct Registry {
    by_host: HashMap<String, Arc<Tenant>>,
    all: Vec<Arc<Tenant>>,
}

impl Registry {
    pub fn new(tenants: Vec<Tenant>) -> Self {
        let all: Vec<Arc<Tenant>> = tenants.into_iter().map(Arc::new).collect();
        let by_host = all
            .iter()
            .flat_map(|t| t.hosts.iter().map(move |h| (h.clone(), Arc::clone(t))))
            .collect();
        Self { by_host, all }
    }

    /// The tenant serving `host` (a `Host` header value; case and a final
    /// dot ignored) when reached on `public_port` (see [`host_name`]).
    pub fn by_host(&self, host: &str, public_port: u16) -> Option<&Arc<Tenant>> {
        let name = host_name(host, public_port)?;
        self.by_host
            .get(&name.trim_end_matches('.').to_ascii_lowercase())
    }

    pub fn all(&self) -> &[Arc<Tenant>] {
        &self.all
    }

    pub fn by_id(&self, id: &TenantId) -> Option<&Arc<Tenant>> {
        self.all.iter().find(|t| &t.id == id)
    }
}

/// The host name in `host`, a `Host` header value, if it names no port or
/// `public_port`: the port the installation's own links use (443 behind
/// TLS, else the one it listens on). Tenant files name hosts without a
/// port, meaning that one; the same name on another port is another
/// service on the machine, or a forged header, and no tenant's portal.
pub fn host_name(host: &str, public_port: u16) -> Option<&str> {
    if host.starts_with('[') {
        // An IPv6 literal: never a tenant's host name.
        return None;
    }
    match host.rsplit_once(':') {
        None => Some(host),
        Some((name, port)) => {
            let port_ok = !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u16>().ok() == Some(public_port);
            (port_ok && !name.contains(':')).then_some(name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::host_name;

    #[test]
    fn a_host_is_a_tenants_only_on_the_public_port_or_with_none() {
        assert_eq!(host_name("demo.localhost", 8080), Some("demo.localhost"));
        assert_eq!(
            host_name("demo.localhost:8080", 8080),
            Some("demo.localhost")
        );
        assert_eq!(
            host_name("demo.example.se:443", 443),
            Some("demo.example.se")
        );
        for other in [
            "demo.localhost:8081",
            "demo.localhost:80",
            "demo.localhost:",
            "demo.localhost:+8080",
            "demo.localhost:99999",
            "demo.localhost:8080:8080",
            "[::1]:8080",
        ] {
            assert_eq!(host_name(other, 8080), None, "{other}");
        }
    }
}
