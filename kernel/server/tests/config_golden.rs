//! Configuration errors as golden files: each case's messages are compared
//! with `<case>.expected` beside it. Set `UPDATE_GOLDEN=1` to rewrite the
//! expected files after an intended change, then review the diff.

// Helpers here are test code too: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use tillit_kernel::config::Config;
use tillit_kernel::i18n::Catalogs;
use tillit_kernel::theme::Themes;

fn here() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn check_golden(expected_file: &Path, actual: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(expected_file, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(expected_file).unwrap_or_else(|_| {
        panic!(
            "{} is missing; run with UPDATE_GOLDEN=1",
            expected_file.display()
        )
    });
    assert_eq!(actual, expected, "{} differs", expected_file.display());
}

fn themes() -> Vec<String> {
    let themes = Themes::load(
        &here().join("../../themes"),
        Arc::new(Catalogs::builtin()),
        false,
    )
    .unwrap();
    themes.ids()
}

#[test]
fn tenant_file_errors() {
    // Relative paths, as `tillit tenants check` prints them when run from the repo.
    std::env::set_current_dir(here()).unwrap();
    let themes = themes();
    for case in ["everything-wrong", "syntax", "clashes"] {
        let dir = Path::new("tests/config").join(case).join("tenants");
        let issues = tillit_kernel::tenants::load_dir(&dir, &themes).expect_err(case);
        let text: String = issues.iter().map(|i| format!("{i}\n")).collect();
        check_golden(
            &Path::new("tests/config").join(format!("{case}.expected")),
            &text,
        );
    }
}

#[test]
fn the_shipped_tenants_are_valid() {
    let tenants =
        tillit_kernel::tenants::load_dir(&here().join("../../tenants"), &themes()).unwrap();
    let ids: Vec<&str> = tenants.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["demo", "norrland"]);
}

#[test]
fn installation_config_errors() {
    std::env::set_current_dir(here()).unwrap();
    for case in ["unknown-and-bad", "bad-duration"] {
        let file = Path::new("tests/config/global").join(format!("{case}.toml"));
        let err = Config::from_figment(
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::file(&file)),
        )
        .expect_err(case);
        check_golden(&file.with_extension("expected"), &format!("{err}\n"));
    }
}
