//! Profiles: what a clinician tells patients about themselves, and whether
//! it is published.

use tillit_domain::booking::{Profile, ProfileText};
use tillit_domain::{PersonId, Timestamp};

use crate::{Pool, Result, StoreError, TenantStore};

impl TenantStore<'_> {
    one_query! {
        /// A clinician's profile, if they have saved one.
        pub async fn profile(&self, person: &PersonId) -> Result<Option<Profile>> = read q::profile;

        pub async fn save_profile_text(
            &self,
            person: &PersonId,
            text: &ProfileText,
            now: Timestamp,
        ) -> Result<()> = write q::save_profile_text;

        /// Publishes or unpublishes a saved profile; false if there is none.
        pub async fn set_profile_published(
            &self,
            person: &PersonId,
            at: Option<Timestamp>,
            now: Timestamp,
        ) -> Result<bool> = write q::set_profile_published;
    }
}
