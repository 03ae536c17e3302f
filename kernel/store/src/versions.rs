//! Versions of bookings and people (written by the database's triggers on
//! every change), for journal systems' `vread` and `_history`.

use tillit_domain::version::{BookingVersion, PersonVersion};
use tillit_domain::{Person, PersonId, Role, Timestamp};

use crate::{Pool, Result, StoreError, TenantStore};

/// One page of a history, newest first, and how many versions it has in
/// all pages.
#[derive(Debug, Clone)]
pub struct HistoryPage<T> {
    pub total: u64,
    pub versions: Vec<T>,
}

fn page<T>((total, versions): (i64, Vec<T>)) -> HistoryPage<T> {
    HistoryPage {
        total: u64::try_from(total).unwrap_or(0),
        versions,
    }
}

fn bound(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl TenantStore<'_> {
    one_query! {
        /// Every version of a booking, oldest first (none if there is no
        /// such booking).
        pub async fn booking_versions(&self, booking: &str) -> Result<Vec<BookingVersion>>
            = read q::booking_versions;

        /// Every version of a person, oldest first.
        pub async fn person_versions(&self, person: &PersonId) -> Result<Vec<PersonVersion>>
            = read q::person_versions;

        /// A person with their latest version, in one statement.
        pub async fn person_at_latest(&self, person: &PersonId) -> Result<Option<(Person, PersonVersion)>>
            = read q::person_at_latest;

        /// A booking's latest version (none if there is no such booking).
        pub async fn latest_booking_version(&self, booking: &str) -> Result<Option<BookingVersion>>
            = read q::latest_booking_version;
    }

    /// The tenant's booking versions made at or after `since`, newest
    /// first, `count` of them from `offset`.
    pub async fn booking_history(
        &self,
        since: Timestamp,
        count: usize,
        offset: usize,
    ) -> Result<HistoryPage<(String, BookingVersion)>> {
        let t = &self.tenant;
        let found = dispatch!(self.pool, read, |ex| q::booking_history(
            ex,
            t,
            since,
            bound(count),
            bound(offset)
        ))?;
        Ok(page(found))
    }

    /// The versions of the tenant's people in `role` made at or after
    /// `since`, newest first, `count` of them from `offset`.
    pub async fn person_history(
        &self,
        role: Role,
        since: Timestamp,
        count: usize,
        offset: usize,
    ) -> Result<HistoryPage<(PersonId, PersonVersion)>> {
        let t = &self.tenant;
        let found = dispatch!(self.pool, read, |ex| q::person_history(
            ex,
            t,
            role,
            since,
            bound(count),
            bound(offset)
        ))?;
        Ok(page(found))
    }
}
