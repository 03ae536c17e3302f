//! Clinicians' calendars as a journal system sees them: each clinician's
//! schedule (whether they are bookable, and for which visit types) and
//! the times their active bookings take. Staff data that names no
//! patient, so not access-logged.

use tillit_domain::booking::{BookingStatus, BusyTime, VisitType};
use tillit_domain::{Person, PersonId, Timestamp};

use crate::journal::{clinicians, read_clinician};
use crate::{Env, Error};

/// A clinician's calendar.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub clinician: Person,
    /// Their profile is published: patients and EHRs may book them.
    pub published: bool,
    /// What they can be booked for (not the archived types).
    pub visit_types: Vec<VisitType>,
}

async fn schedule_of(env: Env<'_>, clinician: Person) -> Result<Schedule, Error> {
    let profile = env.store.profile(&clinician.id).await?.unwrap_or_default();
    let visit_types = env.store.visit_types_of(&clinician.id).await?;
    Ok(Schedule {
        clinician,
        published: profile.published_at.is_some(),
        visit_types,
    })
}

/// The calendar of clinician `id`.
pub async fn schedule(env: Env<'_>, id: &PersonId) -> Result<Schedule, Error> {
    let clinician = read_clinician(env, id).await?;
    schedule_of(env, clinician).await
}

/// Every clinician's calendar, by family name.
pub async fn schedules(env: Env<'_>) -> Result<Vec<Schedule>, Error> {
    let mut out = Vec::new();
    for c in clinicians(env).await? {
        out.push(schedule_of(env, c).await?);
    }
    Ok(out)
}

/// The times taken (of `clinician`, if given) that overlap `[from, to)`,
/// earliest first.
pub async fn busy_times(
    env: Env<'_>,
    clinician: Option<&PersonId>,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<BusyTime>, Error> {
    Ok(env.store.busy_times(clinician, from, to).await?)
}

/// The time booking `id` takes, while it is active.
pub async fn busy_time(env: Env<'_>, id: &str) -> Result<BusyTime, Error> {
    let b = env.store.booking(id).await?.ok_or(Error::NotFound)?;
    if !matches!(
        b.status,
        BookingStatus::Unconfirmed | BookingStatus::Confirmed | BookingStatus::InProgress
    ) {
        return Err(Error::NotFound);
    }
    Ok(BusyTime {
        end: b.ends_at(),
        booking: b.id,
        clinician: b.clinician,
        start: b.starts_at,
    })
}
