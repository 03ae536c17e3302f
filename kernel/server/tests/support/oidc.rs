//! A real OpenID Connect provider for the login tests: npm `oidc-provider`
//! (OpenID-certified) run by `tests/support/oidc/provider.mjs`, on
//! 127.0.0.1 on a free port, until the [`OidcProvider`] is dropped.
//! `cargo xtask test` installs it (`npm ci` in tests/support/oidc).
//!
//! The config, the accounts and claims, and the redirect chain are described
//! at the top of provider.mjs. In short: `login_hint` names the account (a
//! 12-digit personnummer or an `SE…` HSA-id) and logs it in without any
//! HTML, `acr_values` gives the ID token's `acr`, PKCE (S256) is required,
//! and the chain `<issuer>/auth` → 303 `<issuer>/interaction/<uid>` → 303
//! `<issuer>/auth/<uid>` → 303 `<redirect_uri>?code=…&state=…&iss=…` needs
//! no cookies. `POST <issuer>/test/backchannel?account=<login_hint>` ends
//! that account's sessions with back-channel logout tokens to the clients.
//!
//! Starting one blocks (about a second): from an async test, that is fine.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::TempDir;

/// How long the provider may take to print its `listening` line.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// How much of the provider's stderr a panic message shows.
const SHOWN_STDERR_BYTES: u64 = 4096;

/// A running provider; dropping it stops it.
pub struct OidcProvider {
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub issuer: String,
    child: Child,
    /// Holds the config and the provider's stderr (`provider.stderr`).
    dir: TempDir,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("issuer", &self.issuer)
            .field("pid", &self.child.id())
            .finish_non_exhaustive()
    }
}

impl OidcProvider {
    /// Starts provider.mjs with this config (written to a temporary file)
    /// and waits up to 20 s for it to listen. Panics, with the tail of its
    /// stderr, when it cannot start, and with how to install it when its
    /// node_modules are missing.
    pub fn start(config: &serde_json::Value) -> OidcProvider {
        let folder = folder();
        assert!(
            folder
                .join("node_modules/oidc-provider/package.json")
                .exists(),
            "the OpenID Connect test provider is not installed in {}: run \
             `npm ci --prefix kernel/server/tests/support/oidc` (`cargo xtask test` does)",
            folder.display()
        );
        let dir = TempDir::new("tillit-oidc");
        let config_path = dir.path().join("config.json");
        std::fs::write(&config_path, serde_json::to_vec_pretty(config).unwrap()).unwrap();
        let stderr_path = dir.path().join("provider.stderr");
        let stderr = File::create(&stderr_path).unwrap();
        let script = folder.join("provider.mjs");
        // --exit-with-stdin: the provider exits when this process does, even
        // when it dies before dropping the OidcProvider.
        let mut child = Command::new("node")
            .arg(&script)
            .arg(&config_path)
            .arg("--exit-with-stdin")
            .current_dir(&folder)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("node {} could not start: {e}", script.display()));

        let stdout = child.stdout.take().unwrap();
        let (first_line, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let read = reader.read_line(&mut line).map(|_| line);
            let _ = first_line.send(read);
            // Nothing else is expected on stdout; drain it all the same so
            // the provider never blocks on a full pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });

        let line = match lines.recv_timeout(START_TIMEOUT) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => fail(
                child,
                &stderr_path,
                &format!("reading its stdout failed: {e}"),
            ),
            Err(_) => fail(
                child,
                &stderr_path,
                &format!("it did not print `listening …` within {START_TIMEOUT:?}"),
            ),
        };
        let Some(issuer) = line
            .trim_end()
            .strip_prefix("listening ")
            .filter(|url| url.starts_with("http://127.0.0.1:"))
        else {
            let what = if line.is_empty() {
                "it exited before listening".to_owned()
            } else {
                format!("it printed {line:?} instead of `listening http://127.0.0.1:<port>`")
            };
            fail(child, &stderr_path, &what);
        };
        OidcProvider {
            issuer: issuer.to_owned(),
            child,
            dir,
        }
    }

    /// The last few KB of the provider's stderr: a line per request with its
    /// status and redirect, and its errors. For assertion messages.
    pub fn stderr_tail(&self) -> String {
        tail(&self.dir.path().join("provider.stderr"))
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `kernel/server/tests/support/oidc`, where provider.mjs and its
/// node_modules are.
fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/oidc")
}

/// Stops the provider that failed to start and panics with why.
fn fail(mut child: Child, stderr_path: &Path, what: &str) -> ! {
    let _ = child.kill();
    let status = child
        .wait()
        .map_or_else(|e| format!("unknown ({e})"), |s| s.to_string());
    panic!(
        "the OpenID Connect test provider (tests/support/oidc/provider.mjs) did not start: \
         {what} ({status}).\nstderr:\n{}",
        tail(stderr_path)
    );
}

fn tail(path: &Path) -> String {
    let Ok(mut file) = File::open(path) else {
        return format!("({} is missing)", path.display());
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(SHOWN_STDERR_BYTES);
    let _ = file.seek(SeekFrom::Start(start));
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if start > 0 {
        format!("… ({start} earlier bytes)\n{text}")
    } else {
        text
    }
}
