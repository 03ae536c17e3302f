//! Terms: which version of the tenant's terms each person has accepted.

use tillit_domain::{PersonId, Timestamp};

use crate::{Pool, Result, StoreError, TenantStore};

impl TenantStore<'_> {
    one_query! {
        pub async fn has_accepted_terms(
            &self,
            person: &PersonId,
            version: &str,
        ) -> Result<bool> = read q::has_accepted_terms;

        pub async fn accept_terms(
            &self,
            person: &PersonId,
            version: &str,
            now: Timestamp,
        ) -> Result<()> = write q::accept_terms;
    }
}
