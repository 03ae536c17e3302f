//! What the plugin host costs: per-call overhead of a hook (from creating
//! the call's store to its return), rendering a visit's side panel with
//! four plugin tabs, start-up with 100 tenants × 6 plugins from a warm
//! compilation cache, and memory per loaded plugin.
//!
//! `cargo bench -p tillit-plugins --bench hooks` (needs `cargo xtask
//! plugins` first). Does nothing under `cargo test`.
//!
//! Only one first-party plugin exists so far (notes), so the panel's four
//! tabs and the six plugins per tenant are copies of notes under other ids
//! (the manifest's id is not part of the component or its hash).

#![allow(clippy::unwrap_used)]

#[path = "../tests/kit.rs"]
mod kit;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kit::*;
use tillit_domain::time::ManualClock;
use tillit_plugins::{
    Grant, HostConfig, HttpRequest, MemoryStorage, Method, Page, PluginHost, PluginStorage, Role,
    Slot, SqlStorage,
};
use tillit_store::Backend;
use tillit_store::testing::TestDb;

fn main() {
    // `cargo bench` passes --bench; `cargo test` builds benches only when
    // asked, and then this returns at once.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    println!("plugin host benchmarks (wasmtime 48, pooling allocator, one thread)\n");
    // `cargo bench --bench hooks -- panel` runs the parts named so.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |part: &str| only.is_empty() || only.iter().any(|o| part.contains(o.as_str()));
    if wanted("hooks") {
        hooks().await;
    }
    if wanted("panel") {
        visit_panel().await;
    }
    if wanted("startup memory") {
        startup_and_memory();
    }
    if wanted("containment") {
        containment().await;
    }
}

fn host(storage: Arc<dyn PluginStorage>, cache: &Path) -> PluginHost {
    let mut config = HostConfig::new(key());
    config.cache_dir = Some(cache.to_owned());
    PluginHost::new(config, storage, Arc::new(ManualClock::new(NOW))).unwrap()
}

/// Copies of the notes package under other ids, in `root`.
fn notes_copies(root: &Path, ids: &[&str]) {
    let notes = package("notes");
    for id in ids {
        let dir = root.join(format!("{id}-0.1.0"));
        copy_dir(&notes, &dir);
        let manifest = dir.join("plugin.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(
            &manifest,
            text.replacen("id = \"notes\"", &format!("id = \"{id}\""), 1),
        )
        .unwrap();
    }
}

struct Stats {
    p50: Duration,
    p99: Duration,
    mean: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let n = samples.len();
    Stats {
        p50: samples[n / 2],
        p99: samples[n * 99 / 100],
        mean: samples.iter().sum::<Duration>() / n as u32,
    }
}

fn show(what: &str, s: &Stats) {
    println!(
        "  {what:<58} p50 {:>7.1} µs   p99 {:>7.1} µs   mean {:>7.1} µs",
        micros(s.p50),
        micros(s.p99),
        micros(s.mean)
    );
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

async fn measure<F, Fut>(n: usize, mut call: F) -> Stats
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..n / 10 {
        call().await;
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        call().await;
        samples.push(started.elapsed());
    }
    stats(samples)
}

async fn hooks() {
    println!("per-call overhead of a hook (fresh store and instance, call, return):");
    let cache = tempdir::TempDir::new("bench-cache");
    let memory_host = host(Arc::new(MemoryStorage::new()), cache.path());
    for id in ["hostile-spin", "notes"] {
        let info = memory_host.load(&package(id)).unwrap();
        memory_host
            .enable(&tenant("alfa"), id, Grant::requested(&info))
            .unwrap();
    }
    let clinician = &as_in_visit("alfa", karin(), Role::Clinician);
    let patient = &as_in_visit("alfa", tove(), Role::Patient);
    let h = &memory_host;

    let s = measure(20_000, move || async move {
        let r = h
            .handle_http(
                clinician,
                "hostile-spin",
                HttpRequest::new(Method::Get, "/ok"),
            )
            .await
            .unwrap();
        assert_eq!(r.value.status, 200);
    })
    .await;
    show("http GET /ok, no capabilities (spin's benign route)", &s);

    let s = measure(20_000, move || async move {
        let r = h
            .render_slot(patient, "notes", &Slot::VisitPanel)
            .await
            .unwrap();
        assert!(r.value.is_none());
    })
    .await;
    show(
        "render visit-panel as a patient (notes: 1 context call)",
        &s,
    );

    let put = HttpRequest::new(Method::Put, "/note").with_body(
        "application/json",
        &br#"{"text":"Sover b\u00e4ttre.","base_version":0}"#[..],
    );
    h.handle_http(clinician, "notes", put.clone())
        .await
        .unwrap();
    let s = measure(20_000, move || async move {
        let r = h
            .handle_http(clinician, "notes", HttpRequest::new(Method::Get, "/note"))
            .await
            .unwrap();
        assert_eq!(r.value.status, 200);
    })
    .await;
    show(
        "http GET /note, in-memory storage (context, clock, 1 read)",
        &s,
    );

    let db = TestDb::new(Backend::Sqlite);
    let store = db.store().await;
    store.register_tenant(&tenant("alfa"), NOW).await.unwrap();
    let sql_host = host(Arc::new(SqlStorage::new(store)), cache.path());
    let info = sql_host.load(&package("notes")).unwrap();
    sql_host
        .enable(&tenant("alfa"), "notes", Grant::requested(&info))
        .unwrap();
    sql_host.handle_http(clinician, "notes", put).await.unwrap();
    let h = &sql_host;
    let s = measure(5_000, move || async move {
        let r = h
            .handle_http(clinician, "notes", HttpRequest::new(Method::Get, "/note"))
            .await
            .unwrap();
        assert_eq!(r.value.status, 200);
    })
    .await;
    show(
        "http GET /note, SQLite storage (context, clock, 1 read)",
        &s,
    );
    println!();
}

async fn visit_panel() {
    println!("a visit's side panel with four plugin tabs (notes and 3 copies), render_all + HTML:");
    let cache = tempdir::TempDir::new("bench-cache");
    let dist = tempdir::TempDir::new("bench-dist");
    notes_copies(dist.path(), &["notes", "notes-b", "notes-c", "notes-d"]);
    for backend in ["memory", "sqlite"] {
        let db = TestDb::new(Backend::Sqlite);
        let storage: Arc<dyn PluginStorage> = if backend == "memory" {
            Arc::new(MemoryStorage::new())
        } else {
            let store = db.store().await;
            store.register_tenant(&tenant("alfa"), NOW).await.unwrap();
            Arc::new(SqlStorage::new(store))
        };
        let h = host(storage, cache.path());
        let report = h.load_dir(dist.path());
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        for info in &report.loaded {
            h.enable(&tenant("alfa"), info.id(), Grant::requested(info))
                .unwrap();
        }
        let ctx = as_in_visit("alfa", karin(), Role::Clinician);
        // Each tab has a saved note to show.
        for info in &report.loaded {
            let put = HttpRequest::new(Method::Put, "/note").with_body(
                "application/json",
                &br#"{"text":"Sover b\u00e4ttre.","base_version":0}"#[..],
            );
            h.handle_http(&ctx, info.id(), put).await.unwrap();
        }
        let page = Page {
            csrf: "token",
            lang: "sv",
        };
        let hr = &h;
        let ctx = &ctx;
        let s = measure(2_000, || async move {
            let tabs = hr.render_all(ctx, &Slot::VisitPanel).await;
            assert_eq!(tabs.len(), 4);
            let mut html = 0;
            for (_, called) in tabs {
                let view = called.unwrap().value.unwrap();
                html += view.render(&page).unwrap().len();
            }
            assert!(html > 0);
        })
        .await;
        show(&format!("4 tabs, {backend} storage: hooks and HTML"), &s);
        let s = measure(2_000, || async move {
            let tabs = hr.render_all(ctx, &Slot::VisitPanel).await;
            assert!(tabs.iter().all(|(_, c)| c.is_ok()));
        })
        .await;
        show(
            &format!("4 tabs, {backend} storage: hooks only (render_all)"),
            &s,
        );
        if backend == "memory" {
            let views: Vec<_> = hr
                .render_all(ctx, &Slot::VisitPanel)
                .await
                .into_iter()
                .map(|(_, c)| c.unwrap().value.unwrap())
                .collect();
            let views = &views;
            let s = measure(2_000, || async move {
                for view in views {
                    assert!(!view.render(&page).unwrap().is_empty());
                }
            })
            .await;
            show("4 tabs: HTML only (Handlebars, escaped)", &s);
        }
    }
    println!();
}

fn startup_and_memory() {
    const TENANTS: usize = 100;
    let ids = [
        "notes", "notes-b", "notes-c", "notes-d", "notes-e", "notes-f",
    ];
    println!(
        "start-up, {TENANTS} tenants × {} plugins (notes and 5 copies), warm cache:",
        ids.len()
    );
    let cache = tempdir::TempDir::new("bench-cache");
    let dist = tempdir::TempDir::new("bench-dist");
    notes_copies(dist.path(), &ids);
    // Warm the cache (the copies share one component, so one compile).
    let started = Instant::now();
    let cold = host(Arc::new(MemoryStorage::new()), cache.path());
    let report = cold.load_dir(dist.path());
    assert!(report.failed.is_empty());
    let cold_time = started.elapsed();
    drop(cold);

    let rss_before = rss();
    let started = Instant::now();
    let warm = host(Arc::new(MemoryStorage::new()), cache.path());
    let engine_time = started.elapsed();
    let report = warm.load_dir(dist.path());
    assert!(report.failed.is_empty());
    let load_time = started.elapsed() - engine_time;
    let grants: Vec<_> = (0..TENANTS)
        .flat_map(|t| {
            let report = &report;
            (0..ids.len()).map(move |p| {
                (
                    tenant(&format!("t{t}")),
                    report.loaded[p].id().to_owned(),
                    Grant::requested(&report.loaded[p]),
                )
            })
        })
        .collect();
    let enable_started = Instant::now();
    let refused = warm.enable_all(grants);
    assert!(refused.is_empty());
    let enable_time = enable_started.elapsed();
    let total = started.elapsed();
    let (hits, misses) = warm.cache_stats().unwrap();
    println!(
        "  engine {:.1} ms, load 6 plugins {:.1} ms (cache: {hits} hits, {misses} compiles), enable 600 {:.1} ms: total {:.1} ms (cold first start: {:.1} ms)",
        ms(engine_time),
        ms(load_time),
        ms(enable_time),
        ms(total),
        ms(cold_time)
    );
    println!(
        "  resident memory of the host after start-up: +{:.1} MiB",
        (rss() - rss_before) as f64 / (1 << 20) as f64
    );

    // Memory per loaded plugin: load many copies, each its own compiled
    // code and pre-linked instance, and divide.
    const COPIES: usize = 40;
    let many = tempdir::TempDir::new("bench-many");
    let names: Vec<String> = (0..COPIES).map(|i| format!("copy-{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    notes_copies(many.path(), &refs);
    let before = rss();
    let report = warm.load_dir(many.path());
    assert!(report.failed.is_empty());
    let per_plugin = (rss() - before) as f64 / COPIES as f64 / 1024.0;
    let wasm = std::fs::metadata(package("notes").join("plugin.wasm"))
        .unwrap()
        .len();
    println!(
        "memory per loaded plugin (notes, {} KiB component): {per_plugin:.0} KiB resident",
        wasm / 1024
    );
}

/// How long a looping or ballooning plugin runs before the host stops it.
async fn containment() {
    println!("\ncontainment (hostile plugins):");
    let cache = tempdir::TempDir::new("bench-cache");
    let h = host(Arc::new(MemoryStorage::new()), cache.path());
    for id in ["hostile-spin", "hostile-balloon"] {
        let info = h.load(&package(id)).unwrap();
        h.enable(&tenant("alfa"), id, Grant::requested(&info))
            .unwrap();
    }
    let ctx = &as_in_visit("alfa", karin(), Role::Clinician);
    let limits = h.limits().clone();
    for (id, path, what) in [
        ("hostile-spin", "/spin", "infinite loop stopped after"),
        (
            "hostile-balloon",
            "/balloon",
            "allocation without end trapped after",
        ),
    ] {
        let mut samples = Vec::new();
        for _ in 0..20 {
            let started = Instant::now();
            let r = h
                .handle_http(ctx, id, HttpRequest::new(Method::Get, path))
                .await;
            samples.push(started.elapsed());
            assert!(r.is_err());
        }
        let max = *samples.iter().max().unwrap();
        let s = stats(samples);
        println!(
            "  {what:<40} p50 {:>6.1} ms   max {:>6.1} ms",
            ms(s.p50),
            ms(max)
        );
    }
    println!(
        "  (limits: {} ms of the plugin's own time, checked every {} ms; {} MiB of memory)",
        limits.call_time.as_millis(),
        limits.epoch_tick.as_millis(),
        limits.memory >> 20
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Resident set size, in bytes.
fn rss() -> i64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: i64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}
