//! `tillit tenants check --online`: each login method's provider is
//! reached (discovery and keys), and what it says it supports is compared
//! with what the method asks of it.

use openidconnect::core::{CoreClientAuthMethod, CoreResponseType};

use super::Providers;
use crate::tenants::{ClientAuth, Issue, Tenant};

/// Every problem with the tenants' providers, each naming the tenant file
/// and the method's key.
pub async fn providers(providers: &Providers, tenants: &[Tenant]) -> Vec<Issue> {
    let mut issues = Vec::new();
    for tenant in tenants {
        for (i, method) in tenant.login_methods.iter().enumerate() {
            let key = format!("login.methods[{i}]");
            let issue = |message: String| Issue {
                file: tenant.file.display().to_string(),
                message,
            };
            let meta = match providers.metadata(&method.issuer).await {
                Ok(m) => m,
                Err(e) => {
                    issues.push(issue(format!("{key}.issuer: {e}")));
                    continue;
                }
            };
            if meta.jwks().keys().is_empty() {
                issues.push(issue(format!(
                    "{key}.issuer: the provider publishes no signing keys"
                )));
            }
            let code_flow = meta
                .response_types_supported()
                .iter()
                .any(|t| t.as_slice() == [CoreResponseType::Code]);
            if !code_flow {
                issues.push(issue(format!(
                    "{key}.issuer: the provider does not offer the authorisation code flow"
                )));
            }
            let (auth, auth_key) = match method.auth {
                ClientAuth::Secret(_) => (
                    CoreClientAuthMethod::ClientSecretBasic,
                    "client_secret_file",
                ),
                ClientAuth::PrivateKey { .. } => {
                    (CoreClientAuthMethod::PrivateKeyJwt, "private_key_file")
                }
            };
            // Absent means client_secret_basic only (OpenID Connect
            // Discovery 1.0).
            let offered = meta.token_endpoint_auth_methods_supported().map_or_else(
                || auth == CoreClientAuthMethod::ClientSecretBasic,
                |list| list.contains(&auth),
            );
            if !offered {
                issues.push(issue(format!(
                    "{key}.{auth_key}: the provider does not take {} at its token endpoint",
                    auth.as_ref()
                )));
            }
            if let Some(scopes) = meta.scopes_supported() {
                for s in method
                    .scopes
                    .iter()
                    .filter(|s| !scopes.iter().any(|x| x.as_str() == s.as_str()))
                {
                    issues.push(issue(format!(
                        "{key}.scopes: the provider does not offer \"{s}\""
                    )));
                }
            }
            if let Some(levels) = meta.acr_values_supported() {
                for a in method
                    .acr_values
                    .iter()
                    .filter(|a| !levels.iter().any(|x| x.as_str() == a.as_str()))
                {
                    issues.push(issue(format!(
                        "{key}.acr_values: the provider does not offer \"{a}\""
                    )));
                }
            }
        }
    }
    issues
}
