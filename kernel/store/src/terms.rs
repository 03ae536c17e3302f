//! Terms: which version of the tenant's terms each person has accepted.

use tillit_domain::{PersonId, Timestamp};

use crate::{ChangedBy, Pool, Result, StoreError, TenantStore, outbox};

impl TenantStore<'_> {
    one_query! {
        pub async fn has_accepted_terms(
            &self,
            person: &PersonId,
            version: &str,
        ) -> Result<bool> = read q::has_accepted_terms;
    }

    /// Records that `person` accepted `version`, with the access-log entry
    /// `by` names, in one transaction.
    pub async fn accept_terms(
        &self,
        person: &PersonId,
        version: &str,
        by: &ChangedBy<'_>,
        now: Timestamp,
    ) -> Result<()> {
        let t = &self.tenant;
        in_transaction!(self.pool, |tx| {
            q::accept_terms(&mut *tx, t, person, version, now).await?;
            outbox::log_change!(tx, t, by, person, now);
            Some(())
        })?;
        Ok(())
    }
}
