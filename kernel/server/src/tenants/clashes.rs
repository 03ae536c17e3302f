//! Across files: no two tenants may share an id or a host name.

use std::collections::HashMap;
use std::path::Path;

use tillit_domain::TenantId;

use super::{Issue, Tenant};

/// Every id and host name that a later file claims again.
pub(super) fn clashes(tenants: &[Tenant]) -> Vec<Issue> {
    let mut issues = Vec::new();
    let mut ids: HashMap<&TenantId, &Path> = HashMap::new();
    let mut hosts: HashMap<&str, &Path> = HashMap::new();
    for t in tenants {
        if let Some(other) = ids.insert(&t.id, &t.file) {
            issues.push(Issue {
                file: t.file.display().to_string(),
                message: format!("id: \"{}\" is already the id of {}", t.id, other.display()),
            });
        }
        for h in &t.hosts {
            if let Some(other) = hosts.insert(h, &t.file) {
                issues.push(Issue {
                    file: t.file.display().to_string(),
                    message: format!("hosts: \"{h}\" is already a host of {}", other.display()),
                });
            }
        }
    }
    issues
}
