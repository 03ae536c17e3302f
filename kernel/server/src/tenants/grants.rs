//! `[plugins.<id>]`: what a tenant grants each plugin it enables.

use std::collections::HashMap;

use tillit_plugin_manifest::Capability;

use super::PluginGrant;
use super::reader::Reader;

/// `[plugins.<id>]` sections: `grant` (capability names) and `config` (a
/// table), each only for a feature the tenant enables.
pub(super) fn plugin_grants(
    r: &mut Reader<'_>,
    features: &[String],
    issues: &mut Vec<String>,
) -> HashMap<String, PluginGrant> {
    let mut grants = HashMap::new();
    let Some(section) = r.table.get("plugins") else {
        return grants;
    };
    let Some(section) = section.as_table() else {
        issues.push("plugins: expected a table of [plugins.<feature>] sections".into());
        return grants;
    };
    for (id, value) in section {
        let key = format!("plugins.{id}");
        if !features.contains(id) {
            issues.push(format!(
                "{key}: the tenant does not enable \"{id}\" (add it to `features`)"
            ));
            continue;
        }
        let Some(table) = value.as_table() else {
            issues.push(format!("{key}: expected a table with `grant` and `config`"));
            continue;
        };
        for k in table.keys() {
            if k != "grant" && k != "config" {
                issues.push(format!(
                    "{key}.{k}: unknown key; expected one of: grant, config"
                ));
            }
        }
        let capabilities: Vec<String> = r.get(&format!("{key}.grant")).unwrap_or_default();
        for c in &capabilities {
            if Capability::from_interface(c).is_none() {
                let known: Vec<&str> = Capability::ALL.iter().map(|c| c.as_str()).collect();
                issues.push(format!(
                    "{key}.grant: expected capabilities among: {}, found \"{c}\"",
                    known.join(", ")
                ));
            }
        }
        let config = match table.get("config") {
            None => serde_json::Map::new(),
            Some(toml::Value::Table(t)) => match serde_json::to_value(t) {
                Ok(serde_json::Value::Object(m)) => m,
                _ => {
                    issues.push(format!("{key}.config: expected a table of values"));
                    continue;
                }
            },
            Some(_) => {
                issues.push(format!("{key}.config: expected a table of values"));
                continue;
            }
        };
        grants.insert(
            id.clone(),
            PluginGrant {
                capabilities,
                config,
            },
        );
    }
    grants
}
