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
) -> HashMap<String, PluginGrant> {
    let mut grants = HashMap::new();
    let Some(section) = r.table().get("plugins") else {
        return grants;
    };
    let Some(section) = section.as_table() else {
        r.issue("plugins: expected a table of [plugins.<feature>] sections".into());
        return grants;
    };
    for (id, value) in section {
        let key = format!("plugins.{id}");
        if !features.contains(id) {
            r.issue(format!(
                "{key}: the tenant does not enable \"{id}\" (add it to `features`)"
            ));
            continue;
        }
        let Some(table) = value.as_table() else {
            r.issue(format!("{key}: expected a table with `grant` and `config`"));
            continue;
        };
        for k in table.keys() {
            if k != "grant" && k != "config" {
                r.issue(format!(
                    "{key}.{k}: unknown key; expected one of: grant, config"
                ));
            }
        }
        let capabilities: Vec<String> = r.get(&format!("{key}.grant")).unwrap_or_default();
        for c in &capabilities {
            if Capability::from_interface(c).is_none() {
                let known: Vec<&str> = Capability::ALL.iter().map(|c| c.as_str()).collect();
                r.issue(format!(
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
                    r.issue(format!("{key}.config: expected a table of values"));
                    continue;
                }
            },
            Some(_) => {
                r.issue(format!("{key}.config: expected a table of values"));
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

#[cfg(test)]
mod tests {
    use crate::tenants::{Tenant, load_dir};

    /// Loads a tenant file that enables `chat` and ends with `plugins`, from
    /// a directory of its own; on failure, the issues as printed.
    fn load(case: &str, plugins: &str) -> Result<Tenant, Vec<String>> {
        let dir = std::env::temp_dir().join(format!(
            "tillit-tenants-grants-{}-{case}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("demo.toml"),
            format!(
                "id = \"demo\"\n\
                 display_name = \"Demo\"\n\
                 hosts = [\"demo.localhost\"]\n\
                 features = [\"chat\"]\n\
                 data_retention = \"90d\"\n\
                 [booking]\n\
                 sms_sender = \"Demo\"\n\
                 {plugins}\n"
            ),
        )
        .unwrap();
        let loaded = load_dir(&dir, &["default".to_owned()]);
        std::fs::remove_dir_all(&dir).unwrap();
        loaded
            .map(|mut tenants| tenants.remove(0))
            .map_err(|issues| issues.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn a_grant_of_known_capabilities_is_kept() {
        let tenant = load("kept", "[plugins.chat]\ngrant = [\"storage\", \"live\"]").unwrap();
        assert_eq!(tenant.plugins["chat"].capabilities, ["storage", "live"]);
    }

    /// A grant that is not a list of strings is reported with its file and
    /// key, like any other bad value, instead of leaving the plugin silently
    /// without capabilities.
    #[test]
    fn a_grant_of_the_wrong_type_is_reported_with_file_and_key() {
        for (case, grant, expected) in [
            (
                "string",
                "\"storage\"",
                "plugins.chat.grant: expected a sequence, found string \"storage\"",
            ),
            (
                "number",
                "[1]",
                "plugins.chat.grant[0]: expected a string, found signed int `1`",
            ),
            (
                "table",
                "{}",
                "plugins.chat.grant: expected a sequence, found map",
            ),
        ] {
            let issues = load(case, &format!("[plugins.chat]\ngrant = {grant}"))
                .map(|t| t.plugins)
                .expect_err(case);
            let file = format!(
                "tillit-tenants-grants-{}-{case}/demo.toml",
                std::process::id()
            );
            let [issue] = &issues[..] else {
                panic!("{case}: {issues:?}");
            };
            let (at, message) = issue.split_once(": ").unwrap();
            assert!(at.ends_with(&file), "{case}: {at}");
            assert_eq!(message, expected, "{case}");
        }
    }

    /// The section's other keys are reported the same way.
    #[test]
    fn a_config_that_is_not_a_table_and_unknown_keys_are_reported() {
        let issues = load(
            "config",
            "[plugins.chat]\nconfig = \"loud\"\ncolour = \"red\"",
        )
        .map(|t| t.plugins)
        .unwrap_err();
        let messages: Vec<&str> = issues
            .iter()
            .map(|i| i.split_once(": ").unwrap().1)
            .collect();
        assert_eq!(
            messages,
            [
                "plugins.chat.colour: unknown key; expected one of: grant, config",
                "plugins.chat.config: expected a table of values",
            ]
        );
    }
}
