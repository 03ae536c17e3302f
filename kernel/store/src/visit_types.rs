//! Visit types: the kinds of visit each clinician offers.

use tillit_domain::booking::{VisitType, VisitTypeSpec};
use tillit_domain::{PersonId, Timestamp};

use crate::{Pool, Result, StoreError, TenantStore};

impl TenantStore<'_> {
    one_query! {
        pub async fn create_visit_type(
            &self,
            id: &str,
            clinician: &PersonId,
            spec: &VisitTypeSpec,
            now: Timestamp,
        ) -> Result<()> = write q::insert_visit_type;

        /// Changes one of the clinician's own visit types; false if not theirs.
        pub async fn update_visit_type(
            &self,
            id: &str,
            clinician: &PersonId,
            spec: &VisitTypeSpec,
            now: Timestamp,
        ) -> Result<bool> = write q::update_visit_type;

        /// Archives one of the clinician's own visit types; false if not theirs.
        pub async fn archive_visit_type(
            &self,
            id: &str,
            clinician: &PersonId,
            now: Timestamp,
        ) -> Result<bool> = write q::archive_visit_type;

        pub async fn visit_types_of(
            &self,
            clinician: &PersonId,
        ) -> Result<Vec<VisitType>> = read q::visit_types_of;
    }
}
