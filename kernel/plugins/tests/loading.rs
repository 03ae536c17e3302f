//! Loading: what is refused, with which message; tenants' grants; the
//! compilation cache across restarts; reloading in development.

#![allow(clippy::unwrap_used)]

mod kit;

use std::sync::Arc;
use std::time::Instant;

use kit::*;
use tillit_domain::time::ManualClock;
use tillit_plugins::{
    Capability, EnableError, Grant, HostConfig, LoadError, MemoryStorage, Page, PluginHost, Role,
    Slot,
};
use tillit_store::Backend;

fn host_with_cache(dir: &std::path::Path) -> PluginHost {
    let mut config = HostConfig::new(key());
    config.cache_dir = Some(dir.to_owned());
    PluginHost::new(
        config,
        Arc::new(MemoryStorage::new()),
        Arc::new(ManualClock::new(NOW)),
    )
    .unwrap()
}

fn load_error(host: &PluginHost, id: &str) -> (LoadError, String) {
    let e = host
        .load(&package(id))
        .err()
        .unwrap_or_else(|| panic!("{id} was loaded"));
    let message = e.to_string();
    (e, message)
}

#[test]
fn a_plugin_importing_more_than_its_manifest_lists_is_refused() {
    let cache = tempdir::TempDir::new("plugin-cache");
    let host = host_with_cache(cache.path());
    let (e, message) = load_error(&host, "hostile-undeclared");
    assert!(matches!(e, LoadError::Imports { .. }), "{e:?}");
    assert!(
        message.contains("hostile-undeclared-0.1.0/plugin.wasm: capabilities:"),
        "{message}"
    );
    assert!(
        message.contains(
            "tillit:plugin/blobs@0.1.0 is a capability the manifest does not list under `capabilities`"
        ),
        "{message}"
    );
    assert!(host.plugin("hostile-undeclared").is_none());
}

#[test]
fn a_plugin_for_an_api_this_host_does_not_have_is_refused() {
    let cache = tempdir::TempDir::new("plugin-cache");
    let host = host_with_cache(cache.path());
    let (e, message) = load_error(&host, "hostile-oldapi");
    assert!(matches!(e, LoadError::UnsupportedApi { .. }), "{e:?}");
    assert!(
        message.ends_with(
            "hostile-oldapi-0.1.0/plugin.toml: api: plugin hostile-oldapi was built for tillit:plugin 9.0.0; this kernel supports 0.1.0"
        ),
        "{message}"
    );
    // Refused before compiling: nothing of it was even cached.
    assert_eq!(host.cache_stats(), Some((0, 0)));
}

#[test]
fn a_component_that_is_not_the_one_the_manifest_hashed_is_refused() {
    let cache = tempdir::TempDir::new("plugin-cache");
    let host = host_with_cache(cache.path());
    let copy = tempdir::TempDir::new("notes-copy");
    copy_dir(&package("notes"), copy.path());
    let wasm = copy.path().join("plugin.wasm");
    let mut bytes = std::fs::read(&wasm).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&wasm, bytes).unwrap();
    let e = host.load(copy.path()).err().unwrap();
    let message = e.to_string();
    assert!(matches!(e, LoadError::HashMismatch { .. }), "{e:?}");
    assert!(
        message.contains("plugin.wasm: its SHA-256 is "),
        "{message}"
    );
    assert!(
        message.contains("plugin.toml says sha256 = \""),
        "{message}"
    );

    // A manifest without a hash (not packaged) is refused too.
    let manifest = copy.path().join("plugin.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let unhashed: String = text
        .lines()
        .filter(|l| !l.starts_with("sha256"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&manifest, unhashed).unwrap();
    let message = host.load(copy.path()).err().unwrap().to_string();
    assert!(
        message.ends_with(
            "plugin.toml: sha256: missing; package the plugin with `cargo xtask plugins`"
        ),
        "{message}"
    );
}

#[test]
fn a_tenant_must_grant_what_the_manifest_asks_for() {
    let cache = tempdir::TempDir::new("plugin-cache");
    let host = host_with_cache(cache.path());
    host.load(&package("notes")).unwrap();
    let narrow = Grant {
        capabilities: [Capability::Context].into(),
        ..Grant::default()
    };
    let e = host.enable(&tenant("alfa"), "notes", narrow).err().unwrap();
    assert_eq!(
        e.to_string(),
        "tenant alfa: plugins.notes.grant: notes needs storage, clock, which the tenant does not grant"
    );
    let e = host
        .enable(&tenant("alfa"), "chat", Grant::default())
        .err()
        .unwrap();
    assert!(matches!(e, EnableError::UnknownPlugin { .. }));
    assert!(host.enabled(&tenant("alfa")).is_empty());
    let grant: Grant = toml::from_str(
        "grant = [\"context\", \"storage\", \"clock\"]\nconfig = { max_note_chars = 500 }",
    )
    .unwrap();
    host.enable(&tenant("alfa"), "notes", grant).unwrap();
    assert_eq!(host.enabled(&tenant("alfa")).len(), 1);
    assert_eq!(
        host.plugins_for_slot(&tenant("alfa"), tillit_plugins::manifest::Slot::VisitPanel)
            .len(),
        1
    );
}

#[test]
fn a_directory_loads_what_it_can_and_reports_the_rest() {
    let cache = tempdir::TempDir::new("plugin-cache");
    let host = host_with_cache(cache.path());
    let report = host.load_dir(package("hostile-spin").parent().unwrap());
    let loaded: Vec<&str> = report.loaded.iter().map(|p| p.id()).collect();
    assert!(
        loaded.contains(&"hostile-spin") && loaded.contains(&"hostile-snoop"),
        "{loaded:?}"
    );
    let failed: Vec<String> = report.failed.iter().map(ToString::to_string).collect();
    assert_eq!(failed.len(), 2, "{failed:#?}");
    assert!(failed.iter().any(|m| m.contains("hostile-oldapi")));
    assert!(failed.iter().any(|m| m.contains("hostile-undeclared")));
    let notes = host.load_dir(&dist());
    assert!(notes.failed.is_empty(), "{:?}", notes.failed);
}

#[test]
fn a_restart_takes_compiled_plugins_from_the_cache() {
    let cache = tempdir::TempDir::new("plugin-cache");
    let first = host_with_cache(cache.path());
    let started = Instant::now();
    first.load(&package("notes")).unwrap();
    let cold = started.elapsed();
    assert_eq!(first.cache_stats(), Some((0, 1)));
    drop(first);

    let second = host_with_cache(cache.path());
    let started = Instant::now();
    second.load(&package("notes")).unwrap();
    let warm = started.elapsed();
    assert_eq!(
        second.cache_stats(),
        Some((1, 0)),
        "compiled again after a restart"
    );
    assert!(warm < cold, "warm {warm:?}, cold {cold:?}");
}

/// The default configuration names the cache relative to where `tillit`
/// starts (`data/plugin-cache`); a fresh clone's first run depends on it.
#[test]
fn a_relative_cache_directory_is_taken_from_the_working_directory() {
    let cache = tempdir::TempDir::new("plugin-cache");
    let here = std::env::current_dir().unwrap();
    let relative: std::path::PathBuf = here
        .components()
        .skip(1)
        .map(|_| std::path::Component::ParentDir)
        .collect::<std::path::PathBuf>()
        .join(cache.path().strip_prefix("/").unwrap());
    assert!(relative.is_relative());
    let host = host_with_cache(&relative);
    host.load(&package("notes")).unwrap();
    assert_eq!(host.cache_stats(), Some((0, 1)));
    assert!(
        std::fs::read_dir(cache.path()).unwrap().next().is_some(),
        "nothing was cached in {}",
        cache.path().display()
    );
}

#[tokio::test]
async fn reloading_swaps_changed_plugins_and_views_keep_their_version() {
    let kit = Kit::new(Backend::Sqlite).await;
    let copy = tempdir::TempDir::new("notes-dev");
    copy_dir(&package("notes"), copy.path());
    let info = kit.host.load(copy.path()).unwrap();
    kit.host
        .enable(&tenant("alfa"), "notes", Grant::requested(&info))
        .unwrap();
    let ctx = as_in_visit("alfa", karin(), Role::Clinician);
    let page = Page {
        csrf: "t",
        lang: "sv",
    };

    let before = kit
        .host
        .render_slot(&ctx, "notes", &Slot::VisitPanel)
        .await
        .unwrap()
        .value
        .unwrap();
    // Nothing changed: nothing reloaded.
    assert!(kit.host.reload().loaded.is_empty());

    // A developer edits the template.
    let template = copy.path().join("templates/panel.hbs");
    let text = std::fs::read_to_string(&template).unwrap();
    std::fs::write(
        &template,
        text.replace("<section", "<section data-reloaded"),
    )
    .unwrap();
    let report = kit.host.reload();
    assert_eq!(report.loaded.len(), 1, "{:?}", report.failed);
    let after = kit
        .host
        .render_slot(&ctx, "notes", &Slot::VisitPanel)
        .await
        .unwrap()
        .value
        .unwrap();
    assert!(after.render(&page).unwrap().contains("data-reloaded"));
    // A view made before the reload renders with the templates it was made for.
    assert!(!before.render(&page).unwrap().contains("data-reloaded"));

    // A broken edit keeps the working version.
    std::fs::write(copy.path().join("plugin.wasm"), b"not wasm").unwrap();
    let report = kit.host.reload();
    assert_eq!(report.failed.len(), 1);
    assert!(
        report.failed[0].to_string().contains("SHA-256"),
        "{}",
        report.failed[0]
    );
    let still = kit
        .host
        .render_slot(&ctx, "notes", &Slot::VisitPanel)
        .await
        .unwrap()
        .value
        .unwrap();
    assert!(still.render(&page).unwrap().contains("data-reloaded"));
}

#[tokio::test]
async fn calls_in_flight_finish_on_the_version_they_started_with() {
    let kit = Kit::new(Backend::Sqlite).await;
    let copy = tempdir::TempDir::new("spin-dev");
    copy_dir(&package("hostile-spin"), copy.path());
    let info = kit.host.load(copy.path()).unwrap();
    kit.host
        .enable(&tenant("alfa"), "hostile-spin", Grant::requested(&info))
        .unwrap();
    let ctx = as_in_visit("alfa", karin(), Role::Clinician);
    let spinning = kit.host.handle_http(
        &ctx,
        "hostile-spin",
        tillit_plugins::HttpRequest::new(tillit_plugins::Method::Get, "/spin"),
    );
    let reload = async {
        tokio::task::yield_now().await;
        // A new version: another display name.
        let manifest = copy.path().join("plugin.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(&manifest, text.replace("Hostile: spin", "Hostile: spin 2")).unwrap();
        kit.host.reload()
    };
    let (spun, report) = tokio::join!(spinning, reload);
    assert_eq!(report.loaded.len(), 1);
    // The old instance ran to its limit, undisturbed by the swap.
    assert!(matches!(
        spun,
        Err(tillit_plugins::CallError::TimedOut { .. })
    ));
    assert_eq!(
        kit.host.plugin("hostile-spin").unwrap().name("en"),
        "Hostile: spin 2"
    );
    let ok = kit
        .host
        .handle_http(
            &ctx,
            "hostile-spin",
            tillit_plugins::HttpRequest::new(tillit_plugins::Method::Get, "/ok"),
        )
        .await
        .unwrap();
    assert_eq!(ok.value.status, 200);
}
