//! The tenants directory: every `*.toml` in it, loaded together.

use std::path::{Path, PathBuf};

use super::clashes::clashes;
use super::file::load_file;
use super::{Issue, Tenant};

/// Reads every tenant file in `dir`. `themes` lists the installed themes.
/// Returns the tenants, or every issue found in any file.
pub fn load_dir(dir: &Path, themes: &[String]) -> Result<Vec<Tenant>, Vec<Issue>> {
    let mut issues = Vec::new();
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect(),
        Err(e) => {
            return Err(vec![Issue {
                file: dir.display().to_string(),
                message: format!("cannot read directory: {e}"),
            }]);
        }
    };
    files.sort();
    if files.is_empty() {
        issues.push(Issue {
            file: dir.display().to_string(),
            message: "no tenant files (*.toml) found".into(),
        });
    }
    let mut tenants = Vec::new();
    for file in &files {
        match load_file(file, dir, themes) {
            Ok(t) => tenants.push(t),
            Err(mut e) => issues.append(&mut e),
        }
    }
    issues.extend(clashes(&tenants));
    if issues.is_empty() {
        Ok(tenants)
    } else {
        Err(issues)
    }
}
