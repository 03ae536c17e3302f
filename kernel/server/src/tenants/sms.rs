//! `[sms]`: where a tenant's SMS go, and the 46elks account's settings.

use std::path::{Path, PathBuf};

use super::reader::Reader;

/// Where a tenant's SMS go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsProvider {
    /// Nowhere: recorded in the outbox only (development).
    Outbox,
    /// 46elks' HTTP API.
    Elks46 {
        /// e.g. `https://api.46elks.com/a1`
        api_url: String,
        username: String,
        password: String,
    },
}

/// The `[sms]` keys as read, before they are checked together.
pub(super) struct SmsKeys {
    provider: Option<String>,
    api_url: Option<String>,
    username: Option<String>,
    password_file: Option<PathBuf>,
}

impl SmsKeys {
    pub(super) fn read(r: &mut Reader<'_>) -> Self {
        Self {
            provider: r.get("sms.provider"),
            api_url: r.get("sms.api_url"),
            username: r.get("sms.username"),
            password_file: r.get("sms.password_file"),
        }
    }

    /// The provider these keys name; the 46elks password is read from its
    /// file, relative to the tenants directory `dir`.
    pub(super) fn provider(self, dir: &Path, issues: &mut Vec<String>) -> SmsProvider {
        match self.provider.as_deref().unwrap_or("outbox") {
            "outbox" => SmsProvider::Outbox,
            "46elks" => {
                let api_url = self
                    .api_url
                    .unwrap_or_else(|| "https://api.46elks.com/a1".to_owned());
                if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
                    issues.push(format!(
                        "sms.api_url: expected an http(s) URL, found \"{api_url}\""
                    ));
                }
                let username = self.username.unwrap_or_else(|| {
                    issues.push(
                        "sms.username: missing; required when sms.provider is \"46elks\"".into(),
                    );
                    String::new()
                });
                let password = match &self.password_file {
                    None => {
                        issues.push(
                            "sms.password_file: missing; name the file that holds the 46elks API password".into(),
                        );
                        String::new()
                    }
                    Some(rel) => {
                        let path = dir.join(rel);
                        match std::fs::read_to_string(&path) {
                            Ok(p) if !p.trim().is_empty() => p.trim().to_owned(),
                            Ok(_) => {
                                issues.push(format!(
                                    "sms.password_file: {} is empty",
                                    path.display()
                                ));
                                String::new()
                            }
                            Err(e) => {
                                issues.push(format!(
                                    "sms.password_file: cannot read {}: {e}",
                                    path.display()
                                ));
                                String::new()
                            }
                        }
                    }
                };
                SmsProvider::Elks46 {
                    api_url: api_url.trim_end_matches('/').to_owned(),
                    username,
                    password,
                }
            }
            other => {
                issues.push(format!(
                    "sms.provider: expected one of: outbox, 46elks, found \"{other}\""
                ));
                SmsProvider::Outbox
            }
        }
    }
}
