//! Installation-wide configuration: built-in defaults, then `tillit.toml`
//! (if present), then `TILLIT_`-prefixed environment variables, with `__`
//! between nesting levels (`TILLIT_DATABASE__URL`, `TILLIT_SERVER__LISTEN`).
//!
//! Unknown keys are errors, so a typo never silently falls back to a default.
//! Errors name where the bad value came from (the file, or the environment
//! variable), the key, and what was expected.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::values::{ConfigDuration, describe_figment_error};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The embedded default: the test login is allowed, templates reload.
    Development,
    /// Real patients: no test login, cookies only over TLS.
    Production,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub mode: Mode,
    /// Where the SQLite database and the secret key live by default.
    pub data_dir: PathBuf,
    /// One `*.toml` file per tenant.
    pub tenants_dir: PathBuf,
    pub themes_dir: PathBuf,
    /// Re-read templates from disk on every render, for theme authors. Costs
    /// a file read and a parse per page, so it is never on by default.
    pub reload_templates: bool,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub identity: IdentityConfig,
    pub mail: MailConfig,
    pub outbox: OutboxConfig,
    pub media: MediaConfig,
    pub plugins: PluginsConfig,
    pub log: LogConfig,
}

/// Where the packaged plugins are (`cargo xtask plugins` builds them).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginsConfig {
    /// One `<id>-<version>/` directory per plugin.
    pub dir: PathBuf,
    /// Compiled plugins, so a restart does not compile them again
    /// (default: `<data_dir>/plugin-cache`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_dir: Option<PathBuf>,
}

/// The video SFU's network side.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaConfig {
    /// The UDP address every visit's media arrives on (one port for all).
    pub listen: SocketAddr,
    /// The address browsers are told to send media to, when `listen` is a
    /// wildcard or behind NAT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announce: Option<std::net::IpAddr>,
    /// STUN/TURN servers handed to browsers, for networks that block UDP
    /// to the SFU (`turn:host:3478?transport=tcp` with a username and credential).
    pub ice_servers: Vec<IceServer>,
    /// `relay`: browsers send media only through the TURN servers above
    /// (hides their addresses; for networks that allow nothing else).
    pub ice_transport_policy: IcePolicy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IcePolicy {
    All,
    Relay,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub credential: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    /// `smtp://host:port` (STARTTLS when offered), `smtps://host:port`, with
    /// optional `user:password@`. Empty: e-mail is only recorded in the
    /// outbox, as in development.
    pub smtp_url: String,
    /// The sender address; the tenant's product name is shown as its name.
    pub from: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxConfig {
    /// How often reminders that have fallen due are handed to delivery.
    pub reminder_tick: ConfigDuration,
    /// The queue worker's heartbeat; a job held by a worker silent for a few
    /// heartbeats (a crashed process) is taken back.
    pub heartbeat: ConfigDuration,
    /// Retries of a failing message within one run, with backoff from
    /// `backoff_min` doubling up to `backoff_max`.
    pub retries: usize,
    pub backoff_min: ConfigDuration,
    pub backoff_max: ConfigDuration,
    /// A timeout for each call to an SMS provider or SMTP server.
    pub send_timeout: ConfigDuration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Where the tenants' portals are served.
    pub listen: SocketAddr,
    /// Where health, readiness and metrics are served, for the
    /// installation's operators: an address of its own, so that no tenant's
    /// host name (nor an unknown one) reaches them. Loopback by default.
    pub ops_listen: SocketAddr,
    /// Set when a TLS-terminating proxy is in front: cookies get `Secure`
    /// and the `__Host-` prefix, and responses carry HSTS.
    pub behind_tls: bool,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How often open room connections have their session checked again:
    /// a connection whose session ended (logout, expiry, the person made
    /// inactive, in this process or another) closes within this.
    pub session_check: ConfigDuration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://…` or `postgres://…`; empty means `sqlite://<data_dir>/tillit.db`.
    pub url: String,
    pub connect_timeout: ConfigDuration,
    /// Apply pending migrations when `serve` starts.
    pub auto_migrate: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    /// The built-in test login that stands in for BankID. Development only.
    pub dev_login: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `info,tillit_kernel=debug`.
    pub filter: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            mode: Mode::Development,
            data_dir: "data".into(),
            tenants_dir: "tenants".into(),
            themes_dir: "themes".into(),
            reload_templates: false,
            server: ServerConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
                ops_listen: SocketAddr::from(([127, 0, 0, 1], 9090)),
                behind_tls: false,
                max_body_bytes: 64 * 1024,
                session_check: ConfigDuration(Duration::from_secs(5)),
            },
            database: DatabaseConfig {
                url: String::new(),
                connect_timeout: ConfigDuration(Duration::from_secs(10)),
                auto_migrate: true,
            },
            identity: IdentityConfig { dev_login: true },
            mail: MailConfig {
                smtp_url: String::new(),
                from: "no-reply@tillit.localhost".into(),
            },
            outbox: OutboxConfig {
                reminder_tick: ConfigDuration(Duration::from_secs(1)),
                heartbeat: ConfigDuration(Duration::from_secs(5)),
                retries: 4,
                backoff_min: ConfigDuration(Duration::from_millis(500)),
                backoff_max: ConfigDuration(Duration::from_secs(30)),
                send_timeout: ConfigDuration(Duration::from_secs(15)),
            },
            media: MediaConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                announce: None,
                ice_servers: Vec::new(),
                ice_transport_policy: IcePolicy::All,
            },
            plugins: PluginsConfig {
                dir: "plugins/target/dist".into(),
                cache_dir: None,
            },
            log: LogConfig {
                format: LogFormat::Pretty,
                filter: "info".into(),
            },
        }
    }
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Unsafe(String),
}

impl Config {
    /// Loads defaults, then `file` if it exists (it must exist if `required`),
    /// then the environment.
    pub fn load(file: &Path, required: bool) -> Result<Self, ConfigError> {
        if required && !file.exists() {
            return Err(ConfigError::Invalid(format!(
                "{}: file not found",
                file.display()
            )));
        }
        Self::from_figment(
            Figment::from(Serialized::defaults(Config::default()))
                .merge(Toml::file(file))
                .merge(Env::prefixed("TILLIT_").split("__")),
        )
    }

    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let mut config: Config = figment.extract().map_err(|e| {
            ConfigError::Invalid(
                e.into_iter()
                    .map(|e| describe_figment_error(&e, "tillit.toml"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        })?;
        if config.database.url.is_empty() {
            config.database.url =
                format!("sqlite://{}", config.data_dir.join("tillit.db").display());
        }
        config.check_safety()?;
        Ok(config)
    }

    /// Refuses combinations that would be unsafe with real patients.
    fn check_safety(&self) -> Result<(), ConfigError> {
        if self.mode == Mode::Production {
            if self.identity.dev_login {
                return Err(ConfigError::Unsafe(
                    "identity.dev_login is enabled but mode is production: the test login lets anyone \
                     in as anyone. Set identity.dev_login = false (TILLIT_IDENTITY__DEV_LOGIN=false)."
                        .into(),
                ));
            }
            if !self.server.behind_tls {
                return Err(ConfigError::Unsafe(
                    "mode is production but server.behind_tls is false: sessions must only travel over \
                     TLS. Put Tillit behind a TLS-terminating proxy and set server.behind_tls = true."
                        .into(),
                ));
            }
        }
        if self.server.ops_listen == self.server.listen && self.server.listen.port() != 0 {
            return Err(ConfigError::Invalid(format!(
                "server.ops_listen: expected an address other than server.listen ({}): \
                 health and metrics are served apart from the portals",
                self.server.listen
            )));
        }
        if self.media.listen.ip().is_unspecified() && self.media.announce.is_none() {
            return Err(ConfigError::Invalid(
                "media.listen: a wildcard address needs media.announce, the address browsers \
                 send media to"
                    .into(),
            ));
        }
        Ok(())
    }

    pub fn is_development(&self) -> bool {
        self.mode == Mode::Development
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: &str) -> Result<Config, ConfigError> {
        Config::from_figment(
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(toml)),
        )
    }

    #[test]
    fn defaults_are_the_embedded_development_setup() {
        let c = load("").unwrap();
        assert_eq!(c.mode, Mode::Development);
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.server.ops_listen.to_string(), "127.0.0.1:9090");
        assert_eq!(c.database.url, "sqlite://data/tillit.db");
        assert!(c.identity.dev_login);
    }

    #[test]
    fn production_refuses_the_test_login_and_plain_http() {
        let e = load("mode = \"production\"\n[server]\nbehind_tls = true").unwrap_err();
        assert!(e.to_string().contains("identity.dev_login"), "{e}");
        let e = load("mode = \"production\"\n[identity]\ndev_login = false").unwrap_err();
        assert!(e.to_string().contains("server.behind_tls"), "{e}");
        let ok = load(
            "mode = \"production\"\n[identity]\ndev_login = false\n[server]\nbehind_tls = true",
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let e = load("[server]\nlisten = \"nowhere\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("server.listen"), "{e}");
        let e = load("[databse]\nurl = \"x\"").unwrap_err().to_string();
        assert!(e.contains("databse"), "{e}");
        let e = load("[database]\nconnect_timeout = \"soon\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("database.connect_timeout") && e.contains("30m"),
            "{e}"
        );
        let e = load("[server]\nops_listen = \"127.0.0.1:8080\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("server.ops_listen"), "{e}");
    }
}
