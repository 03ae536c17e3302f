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

    /// The tenant serving `host` (a `Host` header value, port and case ignored).
    pub fn by_host(&self, host: &str) -> Option<&Arc<Tenant>> {
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
            _ => host,
        };
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
