//! Bookings: visits booked with a clinician, their history and invited colleagues.

use sqlx::Executor;
use tillit_domain::booking::{
    Booking, BookingListItem, BookingStatus, BusyTime, Colleague, VisitKind,
};
use tillit_domain::group::Attendance;
use tillit_domain::people::Role;
use tillit_domain::{PersonId, PersonStatus, Personnummer, TenantId, Timestamp};

use super::{Result, corrupt};
use crate::Db;

struct BookingRow {
    id: String,
    clinician_id: String,
    patient_id: String,
    visit_type_id: String,
    title: String,
    minutes: i64,
    kind: String,
    starts_at: i64,
    status: String,
    message: String,
}

impl BookingRow {
    fn into_booking(self) -> Result<Booking> {
        Ok(Booking {
            id: self.id,
            clinician: PersonId::new(self.clinician_id),
            patient: PersonId::new(self.patient_id),
            visit_type_id: self.visit_type_id,
            title: self.title,
            minutes: u32::try_from(self.minutes).map_err(|_| corrupt("visit length"))?,
            kind: VisitKind::parse(&self.kind).ok_or_else(|| corrupt("visit kind"))?,
            starts_at: Timestamp(self.starts_at),
            status: BookingStatus::parse(&self.status).ok_or_else(|| corrupt("booking status"))?,
            message: self.message,
        })
    }
}

pub async fn insert_booking<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    b: &Booking,
    created_by: &PersonId,
    attendance: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO bookings (tenant_id, id, clinician_id, patient_id, visit_type_id, title, minutes, kind,
                                 starts_at, ends_at, status, message, created_by, created_at, updated_at, attendance)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15)"#,
        tenant.as_str(),
        b.id,
        b.clinician.as_str(),
        b.patient.as_str(),
        b.visit_type_id,
        b.title,
        i64::from(b.minutes),
        b.kind.as_str(),
        b.starts_at.0,
        b.ends_at().0,
        b.status.as_str(),
        b.message,
        created_by.as_str(),
        now.0,
        attendance,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Records a change of status (`from` is `None` for a new booking).
#[allow(clippy::too_many_arguments)]
pub async fn insert_booking_event<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
    booking: &str,
    from: Option<BookingStatus>,
    to: BookingStatus,
    actor: &PersonId,
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO booking_events (tenant_id, id, booking_id, from_status, to_status, actor_id, at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)"#,
        tenant.as_str(),
        id,
        booking,
        from.map(BookingStatus::as_str),
        to.as_str(),
        actor.as_str(),
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn booking<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
) -> Result<Option<Booking>> {
    let row = sqlx::query_as!(
        BookingRow,
        r#"SELECT id AS "id!", clinician_id AS "clinician_id!", patient_id AS "patient_id!",
                  visit_type_id AS "visit_type_id!", title AS "title!", minutes AS "minutes!", kind AS "kind!",
                  starts_at AS "starts_at!", status AS "status!", message AS "message!"
           FROM bookings WHERE tenant_id = $1 AND id = $2"#,
        tenant.as_str(),
        id,
    )
    .fetch_optional(ex)
    .await?;
    row.map(BookingRow::into_booking).transpose()
}

/// When a booking entered each status it has been in, oldest first.
pub async fn booking_status_times<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    booking: &str,
) -> Result<Vec<(BookingStatus, Timestamp)>> {
    let rows = sqlx::query!(
        r#"SELECT to_status AS "to_status!", at AS "at!" FROM booking_events
           WHERE tenant_id = $1 AND booking_id = $2 ORDER BY at, id"#,
        tenant.as_str(),
        booking,
    )
    .fetch_all(ex)
    .await?;
    rows.into_iter()
        .map(|r| {
            let status =
                BookingStatus::parse(&r.to_status).ok_or_else(|| corrupt("booking status"))?;
            Ok((status, Timestamp(r.at)))
        })
        .collect()
}

/// Moves a booking from `from` to `to`, only if it is still in `from`: of two
/// concurrent changes, exactly one wins. Returns whether this one did.
pub async fn set_booking_status<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
    from: BookingStatus,
    to: BookingStatus,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query!(
        "UPDATE bookings SET status = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2 AND status = $3",
        tenant.as_str(),
        id,
        from.as_str(),
        to.as_str(),
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How many of the clinician's active bookings, other than `except`, overlap `[start, end)`.
pub async fn overlapping_bookings<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    clinician: &PersonId,
    start: Timestamp,
    end: Timestamp,
    except: &str,
) -> Result<i64> {
    let n = sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!: i64" FROM bookings
           WHERE tenant_id = $1 AND clinician_id = $2 AND starts_at < $4 AND ends_at > $3 AND id <> $5
             AND status IN ('unconfirmed', 'confirmed', 'in_progress')"#,
        tenant.as_str(),
        clinician.as_str(),
        start.0,
        end.0,
        except,
    )
    .fetch_one(ex)
    .await?;
    Ok(n)
}

/// Makes `clinician` the booking's responsible clinician (who started it).
pub async fn set_responsible_clinician<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
    clinician: &PersonId,
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        "UPDATE bookings SET clinician_id = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
        tenant.as_str(),
        id,
        clinician.as_str(),
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Takes `person` off a booking's invited colleagues.
pub async fn delete_participant<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    booking: &str,
    person: &PersonId,
) -> Result<()> {
    sqlx::query!(
        "DELETE FROM booking_participants WHERE tenant_id = $1 AND booking_id = $2 AND person_id = $3",
        tenant.as_str(),
        booking,
        person.as_str(),
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Moves one of `clinician`'s bookings that has not started to a new time.
/// Returns whether it did (the booking exists, is theirs, and can move).
pub async fn reschedule_booking<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
    clinician: &PersonId,
    start: Timestamp,
    end: Timestamp,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query!(
        r#"UPDATE bookings SET starts_at = $4, ends_at = $5, updated_at = $6
           WHERE tenant_id = $1 AND id = $2 AND clinician_id = $3 AND status IN ('unconfirmed', 'confirmed')"#,
        tenant.as_str(),
        id,
        clinician.as_str(),
        start.0,
        end.0,
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

struct BookingListRow {
    id: String,
    clinician_id: String,
    patient_id: String,
    visit_type_id: String,
    title: String,
    minutes: i64,
    kind: String,
    starts_at: i64,
    status: String,
    message: String,
    patient_given: String,
    patient_family: String,
    patient_personnummer: String,
    patient_role: String,
    patient_status: String,
    shown_id: String,
    attendance: Option<String>,
    clinician_given: String,
    clinician_family: String,
    clinician_title: Option<String>,
}

impl BookingListRow {
    fn into_item(self) -> Result<BookingListItem> {
        Ok(BookingListItem {
            patient_id: PersonId::new(self.shown_id),
            patient_name: format!("{} {}", self.patient_given, self.patient_family),
            patient_personnummer: Personnummer::parse(&self.patient_personnummer)
                .map_err(|_| corrupt("personnummer"))?,
            patient_role: Role::parse(&self.patient_role).ok_or_else(|| corrupt("role"))?,
            patient_status: PersonStatus::parse(&self.patient_status)
                .ok_or_else(|| corrupt("person status"))?,
            clinician_name: format!("{} {}", self.clinician_given, self.clinician_family),
            clinician_title: self.clinician_title.unwrap_or_default(),
            attendance: self
                .attendance
                .map(|a| Attendance::parse(&a).ok_or_else(|| corrupt("attendance")))
                .transpose()?,
            booking: BookingRow {
                id: self.id,
                clinician_id: self.clinician_id,
                patient_id: self.patient_id,
                visit_type_id: self.visit_type_id,
                title: self.title,
                minutes: self.minutes,
                kind: self.kind,
                starts_at: self.starts_at,
                status: self.status,
                message: self.message,
            }
            .into_booking()?,
        })
    }
}

/// `SELECT <a booking with both names and the clinician's job title> FROM
/// bookings b …` followed by `$rest`, returning `BookingListRow`s.
macro_rules! select_booking_list {
    ($rest:literal, $($args:tt)*) => {
        select_booking_list!(patient: "b.patient_id", $rest, $($args)*)
    };
    // `$patient` is the patient the rows show: the booking's first, or
    // (for a patient's own lists) the viewer, one of a group visit's.
    (patient: $patient:literal, $rest:literal, $($args:tt)*) => {
        sqlx::query_as!(
            BookingListRow,
            r#"SELECT b.id AS "id!", b.clinician_id AS "clinician_id!", b.patient_id AS "patient_id!",
                      p.id AS "shown_id!",
                      b.visit_type_id AS "visit_type_id!", b.title AS "title!", b.minutes AS "minutes!",
                      b.kind AS "kind!", b.starts_at AS "starts_at!", b.status AS "status!", b.message AS "message!",
                      p.given_name AS "patient_given!", p.family_name AS "patient_family!",
                      p.personnummer AS "patient_personnummer!", p.role AS "patient_role!",
                      p.status AS "patient_status!", bpt.status AS "attendance?",
                      c.given_name AS "clinician_given!", c.family_name AS "clinician_family!",
                      cp.title AS "clinician_title?"
               FROM bookings b
               JOIN people p ON p.tenant_id = b.tenant_id AND p.id = "# + $patient + r#"
               LEFT JOIN booking_patients bpt
                 ON bpt.tenant_id = b.tenant_id AND bpt.booking_id = b.id AND bpt.person_id = p.id
               JOIN people c ON c.tenant_id = b.tenant_id AND c.id = b.clinician_id
               LEFT JOIN clinician_profiles cp ON cp.tenant_id = b.tenant_id AND cp.person_id = b.clinician_id "# + $rest,
            $($args)*
        )
    };
}

/// Bookings ending after `after` where `clinician` is the responsible
/// clinician, soonest first. (One column per query, so each uses its index.)
pub async fn bookings_as_clinician<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    clinician: &PersonId,
    after: Timestamp,
) -> Result<Vec<BookingListItem>> {
    let rows = select_booking_list!(
        "WHERE b.tenant_id = $1 AND b.clinician_id = $2 AND b.ends_at > $3 ORDER BY b.starts_at, b.id",
        tenant.as_str(),
        clinician.as_str(),
        after.0,
    )
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(BookingListRow::into_item).collect()
}

/// Bookings ending after `after` where `patient` is the one invited, or
/// one of a group visit's (also when they declined).
pub async fn bookings_as_patient<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    patient: &PersonId,
    after: Timestamp,
) -> Result<Vec<BookingListItem>> {
    let rows = select_booking_list!(
        patient: "$2",
        "WHERE b.tenant_id = $1 AND b.id IN (
             SELECT id FROM bookings WHERE tenant_id = $1 AND patient_id = $2
             UNION SELECT booking_id FROM booking_patients WHERE tenant_id = $1 AND person_id = $2)
           AND b.ends_at > $3
         ORDER BY b.starts_at, b.id",
        tenant.as_str(),
        patient.as_str(),
        after.0,
    )
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(BookingListRow::into_item).collect()
}

/// Bookings ending after `after` that `person` was invited to as a
/// colleague (not as the responsible clinician), soonest first.
pub async fn bookings_as_participant<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    person: &PersonId,
    after: Timestamp,
) -> Result<Vec<BookingListItem>> {
    let rows = select_booking_list!(
        "JOIN booking_participants bp ON bp.tenant_id = b.tenant_id AND bp.booking_id = b.id
         WHERE b.tenant_id = $1 AND bp.person_id = $2 AND b.ends_at > $3 ORDER BY b.starts_at, b.id",
        tenant.as_str(),
        person.as_str(),
        after.0,
    )
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(BookingListRow::into_item).collect()
}

/// The bookings still ahead where `clinician` is responsible: not ended or
/// cancelled, and either ending after `cutoff` or in progress (a visit
/// runs until a clinician ends it, also past its planned end). Soonest
/// first. Together with [`booking_history_as_clinician`] at the same
/// `cutoff`, every booking of theirs is in exactly one.
pub async fn coming_as_clinician<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    clinician: &PersonId,
    cutoff: Timestamp,
) -> Result<Vec<BookingListItem>> {
    let rows = select_booking_list!(
        "WHERE b.tenant_id = $1 AND b.clinician_id = $2
           AND b.status IN ('unconfirmed', 'confirmed', 'in_progress')
           AND (b.ends_at > $3 OR b.status = 'in_progress')
         ORDER BY b.starts_at, b.id",
        tenant.as_str(),
        clinician.as_str(),
        cutoff.0,
    )
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(BookingListRow::into_item).collect()
}

/// [`coming_as_clinician`] for the booking's patient, or one of a group
/// visit's who has not declined; the rows show the visit as they see it.
pub async fn coming_as_patient<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    patient: &PersonId,
    cutoff: Timestamp,
) -> Result<Vec<BookingListItem>> {
    let rows = select_booking_list!(
        patient: "$2",
        "WHERE b.tenant_id = $1 AND b.id IN (
             SELECT id FROM bookings WHERE tenant_id = $1 AND patient_id = $2
             UNION SELECT booking_id FROM booking_patients WHERE tenant_id = $1 AND person_id = $2)
           AND COALESCE(bpt.status, '') <> 'declined'
           AND b.status IN ('unconfirmed', 'confirmed', 'in_progress')
           AND (b.ends_at > $3 OR b.status = 'in_progress')
         ORDER BY b.starts_at, b.id",
        tenant.as_str(),
        patient.as_str(),
        cutoff.0,
    )
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(BookingListRow::into_item).collect()
}

/// The bookings behind `clinician`: ended, cancelled or a no-show, or
/// never held and ending by `cutoff`. Newest first, `limit` of them from
/// `offset`.
pub async fn booking_history_as_clinician<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    clinician: &PersonId,
    cutoff: Timestamp,
    limit: i64,
    offset: i64,
) -> Result<Vec<BookingListItem>> {
    let rows = select_booking_list!(
        "WHERE b.tenant_id = $1 AND b.clinician_id = $2
           AND (b.status IN ('finished', 'cancelled', 'no_show')
                OR (b.ends_at <= $3 AND b.status IN ('unconfirmed', 'confirmed')))
         ORDER BY b.starts_at DESC, b.id DESC LIMIT $4 OFFSET $5",
        tenant.as_str(),
        clinician.as_str(),
        cutoff.0,
        limit,
        offset,
    )
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(BookingListRow::into_item).collect()
}

/// Invites a colleague to a booking.
pub async fn insert_participant<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    booking: &str,
    person: &PersonId,
    added_by: &PersonId,
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO booking_participants (tenant_id, booking_id, person_id, added_by, added_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"#,
        tenant.as_str(),
        booking,
        person.as_str(),
        added_by.as_str(),
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

struct ColleagueRow {
    id: String,
    given: String,
    family: String,
    title: Option<String>,
    unit: Option<String>,
}

impl ColleagueRow {
    fn into_colleague(self) -> Colleague {
        Colleague {
            id: PersonId::new(self.id),
            name: format!("{} {}", self.given, self.family),
            title: self.title.unwrap_or_default(),
            unit: self.unit.unwrap_or_default(),
        }
    }
}

/// The colleagues invited to a booking, with their job title, by name.
pub async fn participants_of<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    booking: &str,
) -> Result<Vec<Colleague>> {
    let rows = sqlx::query_as!(
        ColleagueRow,
        r#"SELECT p.id AS "id!", p.given_name AS "given!", p.family_name AS "family!",
                  cp.title AS "title?", cp.unit AS "unit?"
           FROM booking_participants bp
           JOIN people p ON p.tenant_id = bp.tenant_id AND p.id = bp.person_id
           LEFT JOIN clinician_profiles cp ON cp.tenant_id = bp.tenant_id AND cp.person_id = bp.person_id
           WHERE bp.tenant_id = $1 AND bp.booking_id = $2
           ORDER BY p.given_name, p.family_name, p.id"#,
        tenant.as_str(),
        booking,
    )
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(ColleagueRow::into_colleague).collect())
}

/// The tenant's active clinicians with their job title and unit, by unit,
/// title and name: the tree colleagues are picked from.
pub async fn colleagues<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
) -> Result<Vec<Colleague>> {
    let rows = sqlx::query_as!(
        ColleagueRow,
        r#"SELECT p.id AS "id!", p.given_name AS "given!", p.family_name AS "family!",
                  cp.title AS "title?", cp.unit AS "unit?"
           FROM people p
           LEFT JOIN clinician_profiles cp ON cp.tenant_id = p.tenant_id AND cp.person_id = p.id
           WHERE p.tenant_id = $1 AND p.role = 'clinician' AND p.status = 'active'
           ORDER BY cp.unit, cp.title, p.given_name, p.family_name, p.id"#,
        tenant.as_str(),
    )
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(ColleagueRow::into_colleague).collect())
}

struct BusyRow {
    id: String,
    clinician_id: String,
    starts_at: i64,
    ends_at: i64,
}

/// The times the tenant's active bookings (of `clinician`, if given) take
/// that overlap `[from, to)`, earliest first.
pub async fn busy_times<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    clinician: Option<&PersonId>,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<BusyTime>> {
    let rows = sqlx::query_as!(
        BusyRow,
        r#"SELECT id AS "id!", clinician_id AS "clinician_id!", starts_at AS "starts_at!", ends_at AS "ends_at!"
           FROM bookings
           WHERE tenant_id = $1 AND clinician_id = COALESCE($2, clinician_id)
             AND ends_at > $3 AND starts_at < $4
             AND status IN ('unconfirmed', 'confirmed', 'in_progress')
           ORDER BY starts_at, id"#,
        tenant.as_str(),
        clinician.map(PersonId::as_str),
        from.0,
        to.0,
    )
    .fetch_all(ex)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| BusyTime {
            booking: r.id,
            clinician: PersonId::new(r.clinician_id),
            start: Timestamp(r.starts_at),
            end: Timestamp(r.ends_at),
        })
        .collect())
}
