//! SMART client assertions already used, so each buys one token.

use tillit_domain::Timestamp;

use crate::{Pool, Result, StoreError, TenantStore};

impl TenantStore<'_> {
    /// Records that `client` used assertion `jti` (valid until
    /// `expires_at`), forgetting expired ones first; false if it was used
    /// before.
    pub async fn first_use_of_assertion(
        &self,
        client: &str,
        jti: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool> {
        let t = &self.tenant;
        let first = in_transaction!(self.pool, |tx| {
            q::delete_expired_assertions(&mut *tx, t, now).await?;
            Some(q::insert_assertion(&mut *tx, t, client, jti, expires_at).await?)
        })?;
        first.ok_or_else(|| StoreError::Database("assertion not recorded".into()))
    }
}
