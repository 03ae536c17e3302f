//! `cargo xtask plugins`: builds the WebAssembly plugins in `plugins/` and
//! packages them for the host; `cargo xtask plugins test` runs their unit
//! tests on the native target.
//!
//! 1. A toolchain for `wasm32-unknown-unknown`: rustup's, if that target is
//!    installed; otherwise Debian's `rustc-web` with the standard library's
//!    sources (`rust-web-src`) and `lld-19`, installed with apt if missing,
//!    building std itself (`-Zbuild-std`). rustup cannot download the wasm
//!    target on these machines.
//! 2. `cargo build --release --target wasm32-unknown-unknown` of the guests
//!    in `plugins/`, their own workspace (target dir `plugins/target`), so
//!    the host workspace never sees the wasm target. Cargo makes it
//!    incremental.
//! 3. The pack tool (`plugins/pack`, a native binary, so xtask stays
//!    std-only) turns each core module into a component, checks it against
//!    its manifest and writes `plugins/target/dist/<id>-<version>/` (the
//!    hostile test plugins go to `plugins/target/dist-hostile/`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use super::{Result, apt_install, root, status};

const TARGET: &str = "wasm32-unknown-unknown";
/// Debian's Rust 1.96 with std sources, and the wasm linker it lacks.
const DEBIAN_PACKAGES: [&str; 4] = ["rustc-web", "cargo-web", "rust-web-src", "lld-19"];
const DEBIAN_CARGO: &str = "/usr/bin/cargo";
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
const DEBIAN_STD_SOURCES: &str = "/usr/lib/rustlib/src/rust/library/std";
const WASM_LD: &str = "/usr/lib/llvm-19/bin/wasm-ld";
/// Members of the plugins' workspace that are native tools, not guests.
const NATIVE_ONLY: [&str; 2] = ["tillit-plugin-pack", "tillit-plugin-manifest"];

const USAGE: &str = "usage: cargo xtask plugins [test [args for cargo test]]";

/// Where the guests' toolchain comes from.
#[derive(Debug, Clone, Copy)]
enum Toolchain {
    /// rustup's toolchain, with the wasm target installed.
    Rustup,
    /// Debian's rustc-web, building std from source.
    Debian,
}

pub fn plugins(args: &[String]) -> Result {
    match args.first().map(String::as_str) {
        None => build(),
        Some("test") => test(&args[1..]),
        Some(_) => Err(USAGE.into()),
    }
}

fn plugins_dir() -> PathBuf {
    root().join("plugins")
}

fn build() -> Result {
    let started = Instant::now();
    let toolchain = toolchain()?;
    let mut guests = guest_cargo(toolchain);
    guests
        .args(["build", "--release", "--target", TARGET, "--workspace"])
        .args(NATIVE_ONLY.iter().flat_map(|p| ["--exclude", p]));
    if let Toolchain::Debian = toolchain {
        // No prebuilt std for the target: build it, on a stable compiler.
        guests.arg("-Zbuild-std=std,panic_abort");
    }
    status(guests)?;
    let guests_done = started.elapsed();

    let mut pack_tool = host_cargo();
    pack_tool.args(["build", "--quiet", "--package", "tillit-plugin-pack"]);
    status(pack_tool)?;
    let tool_done = started.elapsed();

    // Relative paths, so messages name files as a person finds them.
    let mut pack = Command::new(plugins_dir().join("target/debug/tillit-plugin-pack"));
    pack.current_dir(root()).args([
        "pack",
        "plugins",
        &format!("plugins/target/{TARGET}/release"),
        "plugins/target/dist",
        "plugins/target/dist-hostile",
    ]);
    status(pack)?;
    println!(
        "plugins: guests built in {:.1}s ({toolchain:?} toolchain), pack tool in {:.1}s, packaged in {:.1}s",
        guests_done.as_secs_f64(),
        (tool_done - guests_done).as_secs_f64(),
        (started.elapsed() - tool_done).as_secs_f64(),
    );
    Ok(())
}

/// The plugins' unit tests (SDK, manifest rules, pack tool, the plugins'
/// own logic) on the native target, where the SDK talks to its test host.
fn test(args: &[String]) -> Result {
    let mut c = host_cargo();
    c.args(["test", "--workspace"]).args(args);
    status(c)
}

/// The cargo that runs xtask, in the plugins' workspace.
fn host_cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    in_plugins_workspace(&mut c);
    c
}

/// The plugins' workspace builds into `plugins/target` whatever target
/// directory the user shares between projects (`CARGO_TARGET_DIR`,
/// `build.target-dir`): the pack tool is run from there and the kernel
/// finds the packages there (`plugins.dir`). The guests share nothing with
/// other builds anyway (another target, another compiler).
fn in_plugins_workspace(c: &mut Command) {
    c.current_dir(plugins_dir())
        .env("CARGO_TARGET_DIR", plugins_dir().join("target"));
}

/// A cargo that can build for wasm32-unknown-unknown, in the plugins'
/// workspace.
fn guest_cargo(toolchain: Toolchain) -> Command {
    match toolchain {
        Toolchain::Rustup => host_cargo(),
        Toolchain::Debian => {
            let mut c = Command::new(DEBIAN_CARGO);
            in_plugins_workspace(&mut c);
            let path = std::env::var("PATH").unwrap_or_default();
            // rustup's proxies come first on PATH; the guests need Debian's rustc,
            // and only the guests do.
            c.env("PATH", format!("/usr/bin:{path}"))
                .env("RUSTC", DEBIAN_RUSTC)
                .env_remove("RUSTUP_TOOLCHAIN")
                .env_remove("RUSTDOC")
                .env("RUSTC_BOOTSTRAP", "1")
                .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", WASM_LD);
            c
        }
    }
}

/// rustup's wasm target when installed, else Debian's toolchain, installing
/// its packages when some are missing.
fn toolchain() -> Result<Toolchain> {
    let rustup_has_target = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(root())
        .output()
        .is_ok_and(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .any(|l| l.trim() == TARGET)
        });
    if rustup_has_target {
        return Ok(Toolchain::Rustup);
    }
    let missing = [DEBIAN_CARGO, DEBIAN_RUSTC, DEBIAN_STD_SOURCES, WASM_LD]
        .iter()
        .any(|p| !Path::new(p).exists());
    if missing {
        eprintln!(
            "xtask: installing {} to build the plugins (rustup has no {TARGET} target here)",
            DEBIAN_PACKAGES.join(", ")
        );
        apt_install(&DEBIAN_PACKAGES)?;
    }
    Ok(Toolchain::Debian)
}
