//! The patients of group visits and their answers (`tillit_domain::group`).

use sqlx::Executor;
use tillit_domain::booking::BookingStatus;
use tillit_domain::group::Attendance;
use tillit_domain::{PersonId, TenantId, Timestamp};

use super::{Result, corrupt};
use crate::Db;

/// Adds a patient to a group visit, at `position` (1 for the first).
#[allow(clippy::too_many_arguments)]
pub async fn insert_group_patient<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    booking: &str,
    person: &PersonId,
    position: i64,
    attendance: Attendance,
    added_by: &PersonId,
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO booking_patients (tenant_id, booking_id, person_id, position, status, added_by, added_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"#,
        tenant.as_str(),
        booking,
        person.as_str(),
        position,
        attendance.as_str(),
        added_by.as_str(),
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// A group visit's patients with their answers, in the order invited; none
/// for a one-to-one visit.
pub async fn group_patients<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    booking: &str,
) -> Result<Vec<(PersonId, Attendance)>> {
    let rows = sqlx::query!(
        r#"SELECT person_id AS "person_id!", status AS "status!" FROM booking_patients
           WHERE tenant_id = $1 AND booking_id = $2 ORDER BY position"#,
        tenant.as_str(),
        booking,
    )
    .fetch_all(ex)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok((
                PersonId::new(r.person_id),
                Attendance::parse(&r.status).ok_or_else(|| corrupt("attendance"))?,
            ))
        })
        .collect()
}

/// Sets a patient's answer, only if it is still `from`. Returns whether it
/// did.
pub async fn set_attendance<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    booking: &str,
    person: &PersonId,
    from: Attendance,
    to: Attendance,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query!(
        r#"UPDATE booking_patients SET status = $5, updated_at = $6
           WHERE tenant_id = $1 AND booking_id = $2 AND person_id = $3 AND status = $4"#,
        tenant.as_str(),
        booking,
        person.as_str(),
        from.as_str(),
        to.as_str(),
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Writes a group visit's answers onto the booking (`attendance`, in
/// position order) with its move `from` → `to` (the same status when it
/// does not move), only if it is still `from`: one statement, so one
/// version. Returns whether it did.
pub async fn set_booking_answers<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    booking: &str,
    attendance: &str,
    from: BookingStatus,
    to: BookingStatus,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query!(
        r#"UPDATE bookings SET attendance = $3, status = $5, updated_at = $6
           WHERE tenant_id = $1 AND id = $2 AND status = $4"#,
        tenant.as_str(),
        booking,
        attendance,
        from.as_str(),
        to.as_str(),
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Everyone `clinician` has booked into a group visit.
pub async fn group_patients_of_clinician<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    clinician: &PersonId,
) -> Result<Vec<PersonId>> {
    let rows = sqlx::query_scalar!(
        // CROSS JOIN: SQLite then walks the clinician's bookings (by
        // index) rather than every group patient of the tenant.
        r#"SELECT DISTINCT bp.person_id AS "person_id!" FROM bookings b
           CROSS JOIN booking_patients bp
           WHERE b.tenant_id = $1 AND b.clinician_id = $2
             AND bp.tenant_id = b.tenant_id AND bp.booking_id = b.id"#,
        tenant.as_str(),
        clinician.as_str(),
    )
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(PersonId::new).collect())
}

/// The answers as the booking and its versions keep them.
pub fn attendance_text(patients: &[(PersonId, Attendance)]) -> String {
    patients
        .iter()
        .map(|(_, a)| a.as_str())
        .collect::<Vec<_>>()
        .join(",")
}
