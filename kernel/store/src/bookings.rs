//! Bookings: making one (with a new patient if need be), listing them,
//! inviting colleagues, moving them and changing their status, each change
//! in one transaction with everything it causes.

use std::time::Duration;

use tillit_domain::access::{AccessAction, AccessEvent, Accessor};
use tillit_domain::booking::{
    Booking, BookingFor, BookingListItem, BookingStatus, BusyTime, Colleague, VisitKind,
};
use tillit_domain::group::Attendance;
use tillit_domain::invitee::{OnFile, OnFileChoices, invite_on_file};
use tillit_domain::notify::BookingChange;
use tillit_domain::{PersonId, PersonStatus, Role, Timestamp};

use crate::{Pool, Result, StoreError, TenantStore, outbox};

/// A booking to make: who it is for, and the booking itself (whose
/// `patient` the store fills in).
#[derive(Debug, Clone)]
pub struct NewBooking<'a> {
    pub patient: &'a BookingFor,
    pub booking: Booking,
    pub created_by: &'a PersonId,
    /// Who the access-log entry written with the booking names (the
    /// creator, or the journal system they booked through).
    pub logged_as: Accessor,
    /// The id to give the patient if they are new.
    pub new_patient_id: PersonId,
    pub event_id: String,
    /// How long before a confirmed visit its reminder goes out.
    pub reminder_lead: Duration,
    /// Colleagues invited besides the responsible clinician.
    pub participants: Vec<PersonId>,
    /// Further patients of a group visit, each one on file, in the order
    /// invited (after `patient`). A group visit keeps every patient's own
    /// answer (`tillit_domain::group`); a one-to-one visit takes none.
    pub more_patients: Vec<PersonId>,
    /// Another system's ids of the booking, as (system, value): an EHR's
    /// own booking id. Each names one booking in the tenant.
    pub external_ids: Vec<(String, String)>,
    /// What to do to a patient on file, if the rule asks.
    pub choices: OnFileChoices,
}

/// Who changes a booking: recorded in its history, and in the access log
/// (as `logged_as`) in the change's own transaction when the change is one
/// of the patient's data.
#[derive(Debug, Clone, Copy)]
pub struct ChangedBy<'a> {
    pub person: &'a PersonId,
    pub role: Role,
    /// The access log's `what`; `None` for a change that is not logged.
    pub logged_as: Option<&'static str>,
    /// The journal system (EHR client id) through which the person acts,
    /// which the access log then names as the actor.
    pub via: Option<&'a str>,
    /// The change applies only while the booking is still at this version
    /// (FHIR `If-Match`), checked in the change's own transaction.
    pub at_version: Option<u64>,
}

impl ChangedBy<'_> {
    /// Who the access log names for the change.
    pub fn accessor(&self) -> Accessor {
        match self.via {
            Some(client) => Accessor::JournalSystem {
                client: client.to_owned(),
            },
            None => Accessor::Person {
                id: self.person.clone(),
                role: self.role,
            },
        }
    }
}

/// What became of a change of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RescheduleOutcome {
    Moved,
    /// Not this clinician's, or already started, finished or cancelled.
    NotChangeable,
    /// Another active booking of the clinician starts then.
    SlotTaken,
    /// The booking is no longer at `ChangedBy::at_version`.
    ChangedMeanwhile,
}

/// What became of a booking request. Nothing is saved unless `Booked`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookOutcome {
    Booked(Booking),
    /// One of `NewBooking::external_ids` already names another booking.
    IdentifierTaken,
    /// The patient exists here but is inactive: they cannot be invited.
    PatientInactive,
    /// The name given is not the one on file for the personnummer.
    NameDiffers,
    /// The patient on file is removed, or has another mobile number, and
    /// the command did not choose what to do about it.
    NeedsChoice {
        removed: bool,
        other_phone: bool,
    },
    /// The personnummer belongs to a member of staff, not a patient.
    NotAPatient,
    /// The chosen person is not in this tenant.
    NoSuchPerson,
    /// The clinician already has an active booking starting at that time.
    SlotTaken,
}

impl TenantStore<'_> {
    one_query! {
        pub async fn booking(&self, id: &str) -> Result<Option<Booking>> = read q::booking;

        /// The times active bookings (of `clinician`, if given) take that
        /// overlap `[from, to)`, earliest first.
        pub async fn busy_times(
            &self,
            clinician: Option<&PersonId>,
            from: Timestamp,
            to: Timestamp,
        ) -> Result<Vec<BusyTime>> = read q::busy_times;

        /// When the booking entered each status it has been in, oldest
        /// first (the real start and end of a visit).
        pub async fn status_times(
            &self,
            booking: &str,
        ) -> Result<Vec<(BookingStatus, Timestamp)>> = read q::booking_status_times;

        /// Bookings not yet over that `person` was invited to as a colleague.
        pub async fn bookings_as_participant(
            &self,
            person: &PersonId,
            after: Timestamp,
        ) -> Result<Vec<BookingListItem>> = read q::bookings_as_participant;

        /// The colleagues invited to a booking.
        pub async fn participants_of(
            &self,
            booking: &str,
        ) -> Result<Vec<Colleague>> = read q::participants_of;

        /// The tenant's active clinicians, with unit and job title.
        pub async fn colleagues(&self) -> Result<Vec<Colleague>> = read q::colleagues;

        /// The clinician's bookings still ahead (or in progress), soonest
        /// first; those ending by `cutoff` are history.
        pub async fn coming_as_clinician(
            &self,
            clinician: &PersonId,
            cutoff: Timestamp,
        ) -> Result<Vec<BookingListItem>> = read q::coming_as_clinician;

        /// The patient's bookings still ahead (or in progress), soonest first.
        pub async fn coming_as_patient(
            &self,
            patient: &PersonId,
            cutoff: Timestamp,
        ) -> Result<Vec<BookingListItem>> = read q::coming_as_patient;

        /// One page of the clinician's past bookings (ended, cancelled,
        /// missed), newest first.
        pub async fn booking_history_as_clinician(
            &self,
            clinician: &PersonId,
            cutoff: Timestamp,
            limit: i64,
            offset: i64,
        ) -> Result<Vec<BookingListItem>> = read q::booking_history_as_clinician;

        /// How many of the clinician's active bookings, other than `except`,
        /// overlap the interval.
        pub async fn overlapping_bookings(
            &self,
            clinician: &PersonId,
            start: Timestamp,
            end: Timestamp,
            except: &str,
        ) -> Result<i64> = read q::overlapping_bookings;
    }

    /// Makes a booking in one transaction: creates the patient if new, or
    /// matches the one on file by the rule of `tillit_domain::invitee`
    /// (making them active again or saving their number only as chosen),
    /// inserts the booking, its first event and the access-log entries.
    /// Either all of it happens or none of it.
    pub async fn create_booking(&self, new: NewBooking<'_>, now: Timestamp) -> Result<BookOutcome> {
        let t = &self.tenant;
        let mut outcome = BookOutcome::NoSuchPerson;
        let booked: Option<(Booking, bool)> = in_transaction!(self.pool, |tx| 'body: {
            let mut on_file_changes: Vec<&'static str> = Vec::new();
            let patient = match new.patient {
                BookingFor::Existing(id) => {
                    let found = q::person_by_id(&mut *tx, t, id).await?;
                    if let Some(found) = &found
                        && found.status == PersonStatus::Removed
                    {
                        if !new.choices.reactivate {
                            outcome = BookOutcome::NeedsChoice {
                                removed: true,
                                other_phone: false,
                            };
                            break 'body None;
                        }
                        q::set_person_status(&mut *tx, t, &found.id, PersonStatus::Active, now)
                            .await?;
                        on_file_changes.push("status");
                    }
                    found
                }
                BookingFor::Patient { person, phone } => {
                    let created =
                        q::insert_person_if_absent(&mut *tx, t, &new.new_patient_id, person, now)
                            .await?;
                    let Some(found) =
                        q::person_by_personnummer(&mut *tx, t, &person.personnummer).await?
                    else {
                        break 'body None;
                    };
                    let set_phone = if created {
                        true
                    } else {
                        let (phone_on_file, _) = q::contact_of(&mut *tx, t, &found.id).await?;
                        match invite_on_file(
                            &found,
                            phone_on_file.as_deref(),
                            person,
                            phone,
                            new.choices,
                        ) {
                            OnFile::Use {
                                reactivate,
                                set_phone,
                            } => {
                                if reactivate {
                                    q::set_person_status(
                                        &mut *tx,
                                        t,
                                        &found.id,
                                        PersonStatus::Active,
                                        now,
                                    )
                                    .await?;
                                    on_file_changes.push("status");
                                }
                                if set_phone && phone_on_file.is_some() {
                                    on_file_changes.push("contact");
                                }
                                set_phone
                            }
                            refused => {
                                outcome = match refused {
                                    OnFile::NameDiffers => BookOutcome::NameDiffers,
                                    OnFile::NeedsChoice {
                                        removed,
                                        other_phone,
                                    } => BookOutcome::NeedsChoice {
                                        removed,
                                        other_phone,
                                    },
                                    OnFile::Inactive => BookOutcome::PatientInactive,
                                    _ => BookOutcome::NotAPatient,
                                };
                                break 'body None;
                            }
                        }
                    };
                    if set_phone {
                        q::set_person_phone(&mut *tx, t, &found.id, phone, now).await?;
                    }
                    Some(found)
                }
            };
            let Some(patient) = patient else {
                break 'body None;
            };
            if patient.status == PersonStatus::Inactive {
                outcome = BookOutcome::PatientInactive;
                break 'body None;
            }
            let booking = Booking {
                patient: patient.id.clone(),
                ..new.booking.clone()
            };
            // A group visit's patients, the first among them, each answering
            // for themself; none for a one-to-one visit.
            let mut patients = vec![patient.clone()];
            for id in &new.more_patients {
                let found = q::person_by_id(&mut *tx, t, id).await?;
                match found {
                    Some(p) if p.role != Role::Patient => {
                        outcome = BookOutcome::NotAPatient;
                        break 'body None;
                    }
                    Some(p) if p.status == PersonStatus::Active => {
                        if !patients.iter().any(|q| q.id == p.id) {
                            patients.push(p);
                        }
                    }
                    Some(_) => {
                        outcome = BookOutcome::PatientInactive;
                        break 'body None;
                    }
                    None => break 'body None,
                }
            }
            let answers: Vec<(PersonId, Attendance)> = if booking.kind == VisitKind::GroupVideo {
                let first = Attendance::initial(booking.status);
                patients.iter().map(|p| (p.id.clone(), first)).collect()
            } else {
                Vec::new()
            };
            let attendance = (!answers.is_empty()).then(|| q::attendance_text(&answers));
            match q::insert_booking(
                &mut *tx,
                t,
                &booking,
                new.created_by,
                attendance.as_deref(),
                now,
            )
            .await
            {
                Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                    outcome = BookOutcome::SlotTaken;
                    break 'body None;
                }
                other => other?,
            }
            for (system, value) in &new.external_ids {
                let id = ("Appointment", booking.id.as_str());
                match q::insert_external_id(&mut *tx, t, id, (system, value), now).await {
                    Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                        outcome = BookOutcome::IdentifierTaken;
                        break 'body None;
                    }
                    other => other?,
                }
            }
            q::insert_booking_event(
                &mut *tx,
                t,
                &new.event_id,
                &booking.id,
                None,
                booking.status,
                new.created_by,
                now,
            )
            .await?;
            // Booking a patient changes their data, and so does making them
            // active again or replacing their number: logged in the same
            // transaction.
            for (action, what) in std::iter::once((AccessAction::Create, "booking"))
                .chain(on_file_changes.iter().map(|w| (AccessAction::Update, *w)))
            {
                let access = AccessEvent {
                    actor: new.logged_as.clone(),
                    patient: patient.id.clone(),
                    patient_personnummer: patient.personnummer.clone(),
                    action,
                    what,
                };
                q::insert_access_event(&mut *tx, t, &access, now).await?;
            }
            for (position, (id, answer)) in (1..).zip(&answers) {
                q::insert_group_patient(
                    &mut *tx,
                    t,
                    &booking.id,
                    id,
                    position,
                    *answer,
                    new.created_by,
                    now,
                )
                .await?;
            }
            for p in patients.iter().skip(1) {
                let access = AccessEvent {
                    actor: new.logged_as.clone(),
                    patient: p.id.clone(),
                    patient_personnummer: p.personnummer.clone(),
                    action: AccessAction::Create,
                    what: "booking",
                };
                q::insert_access_event(&mut *tx, t, &access, now).await?;
            }
            for p in &new.participants {
                if *p != booking.clinician && !patients.iter().any(|q| q.id == *p) {
                    q::insert_participant(&mut *tx, t, &booking.id, p, new.created_by, now).await?;
                }
            }
            let queued = outbox::booking_changed!(
                tx,
                t,
                &booking,
                BookingChange::Created,
                new.reminder_lead,
                now
            );
            Some((booking, queued))
        })?;
        Ok(match booked {
            Some((booking, queued)) => {
                self.events.notify_one();
                if queued {
                    self.wake.notify_one();
                }
                BookOutcome::Booked(booking)
            }
            None => outcome,
        })
    }

    /// Bookings not yet over where `person` is the clinician or the patient,
    /// soonest first.
    pub async fn bookings_of(
        &self,
        person: &PersonId,
        after: Timestamp,
    ) -> Result<Vec<BookingListItem>> {
        let t = &self.tenant;
        let mut items: Vec<BookingListItem> =
            dispatch!(self.pool, read, |ex| q::bookings_as_clinician(
                ex, t, person, after
            ))?;
        let as_patient: Vec<BookingListItem> =
            dispatch!(self.pool, read, |ex| q::bookings_as_patient(
                ex, t, person, after
            ))?;
        items.extend(
            as_patient
                .into_iter()
                .filter(|i| i.booking.clinician != *person),
        );
        items.sort_by(|a, b| {
            (a.booking.starts_at, &a.booking.id).cmp(&(b.booking.starts_at, &b.booking.id))
        });
        Ok(items)
    }

    /// Moves one of the clinician's bookings that has not started, and
    /// tells the patient (the message, the moved reminder, the plugin event
    /// and the access-log entry are part of the same transaction).
    #[allow(clippy::too_many_arguments)]
    pub async fn reschedule_booking(
        &self,
        id: &str,
        clinician: &PersonId,
        by: &ChangedBy<'_>,
        start: Timestamp,
        end: Timestamp,
        reminder_lead: Duration,
        now: Timestamp,
    ) -> Result<RescheduleOutcome> {
        let t = &self.tenant;
        let mut outcome = RescheduleOutcome::NotChangeable;
        let moved: Option<bool> = in_transaction!(self.pool, |tx| 'body: {
            if let Some(v) = by.at_version
                && !outbox::still_at_version!(tx, t, id, v)
            {
                outcome = RescheduleOutcome::ChangedMeanwhile;
                break 'body None;
            }
            match q::reschedule_booking(&mut *tx, t, id, clinician, start, end, now).await {
                Ok(true) => {}
                Ok(false) => break 'body None,
                Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                    outcome = RescheduleOutcome::SlotTaken;
                    break 'body None;
                }
                Err(e) => return Err(e.into()),
            }
            let Some(booking) = q::booking(&mut *tx, t, id).await? else {
                break 'body None;
            };
            outbox::log_booking_change!(tx, t, by, &booking, now);
            Some(outbox::booking_changed!(
                tx,
                t,
                &booking,
                BookingChange::Moved,
                reminder_lead,
                now
            ))
        })?;
        match moved {
            Some(queued) => {
                self.events.notify_one();
                if queued {
                    self.wake.notify_one();
                }
                Ok(RescheduleOutcome::Moved)
            }
            None => Ok(outcome),
        }
    }

    /// Moves a booking `from` → `to` and records who did it, only if it is
    /// still in `from`, with what that causes (messages, the plugin event,
    /// the access-log entry), all in one transaction. Returns whether this
    /// change won.
    #[allow(clippy::too_many_arguments)]
    pub async fn change_booking_status(
        &self,
        id: &str,
        from: BookingStatus,
        to: BookingStatus,
        by: &ChangedBy<'_>,
        event_id: &str,
        reminder_lead: Duration,
        now: Timestamp,
    ) -> Result<bool> {
        let t = &self.tenant;
        let won: Option<bool> = in_transaction!(self.pool, |tx| 'body: {
            if let Some(v) = by.at_version
                && !outbox::still_at_version!(tx, t, id, v)
            {
                break 'body None;
            }
            if !q::set_booking_status(&mut *tx, t, id, from, to, now).await? {
                break 'body None;
            }
            q::insert_booking_event(&mut *tx, t, event_id, id, Some(from), to, by.person, now)
                .await?;
            let Some(booking) = q::booking(&mut *tx, t, id).await? else {
                break 'body None;
            };
            outbox::log_booking_change!(tx, t, by, &booking, now);
            Some(outbox::booking_changed!(
                tx,
                t,
                &booking,
                BookingChange::Status { from, to },
                reminder_lead,
                now
            ))
        })?;
        if won.is_some() {
            self.events.notify_one();
        }
        if won == Some(true) {
            self.wake.notify_one();
        }
        Ok(won.is_some())
    }
}

impl TenantStore<'_> {
    /// Another system's ids of a resource of Tillit's, as (system, value).
    pub async fn external_ids_of(
        &self,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<Vec<(String, String)>> {
        let t = &self.tenant;
        Ok(dispatch!(self.pool, read, |ex| q::external_ids_of(
            ex,
            t,
            resource_type,
            resource_id
        ))?)
    }

    /// The resource of `resource_type` that another system's id names.
    pub async fn resource_by_external_id(
        &self,
        resource_type: &str,
        id: (&str, &str),
    ) -> Result<Option<String>> {
        let t = &self.tenant;
        Ok(dispatch!(
            self.pool,
            read,
            |ex| q::resource_by_external_id(ex, t, resource_type, id)
        )?)
    }
}

/// A group visit patient's answer to make (`tillit_domain::group::answer`).
#[derive(Debug, Clone, Copy)]
pub struct GroupAnswer<'a> {
    pub booking: &'a str,
    pub patient: &'a PersonId,
    pub from: Attendance,
    pub to: Attendance,
    /// The visit's status it was read in, and the status it moves to (the
    /// same when the answer does not move it).
    pub visit_from: BookingStatus,
    pub visit_to: BookingStatus,
}

impl TenantStore<'_> {
    one_query! {
        /// A group visit's patients with their answers, in the order
        /// invited; none for a one-to-one visit.
        pub async fn group_patients(
            &self,
            booking: &str,
        ) -> Result<Vec<(PersonId, Attendance)>> = read q::group_patients;

        /// Everyone the clinician has booked into a group visit.
        pub async fn group_patients_of_clinician(
            &self,
            clinician: &PersonId,
        ) -> Result<Vec<PersonId>> = read q::group_patients_of_clinician;
    }

    /// Records a group visit patient's answer, and the visit's move with it,
    /// only if neither changed meanwhile, with what they cause: the
    /// patient's own messages and reminder, the plugins' event and the
    /// booking's history when the visit moves, the access-log entry, all
    /// in one transaction. Returns whether this answer won.
    pub async fn answer_group_visit(
        &self,
        answer: GroupAnswer<'_>,
        by: &ChangedBy<'_>,
        event_id: &str,
        reminder_lead: Duration,
        now: Timestamp,
    ) -> Result<bool> {
        let t = &self.tenant;
        let a = answer;
        let won: Option<bool> = in_transaction!(self.pool, |tx| 'body: {
            if !q::set_attendance(&mut *tx, t, a.booking, a.patient, a.from, a.to, now).await? {
                break 'body None;
            }
            let answers = q::group_patients(&mut *tx, t, a.booking).await?;
            let text = q::attendance_text(&answers);
            if !q::set_booking_answers(&mut *tx, t, a.booking, &text, a.visit_from, a.visit_to, now)
                .await?
            {
                break 'body None;
            }
            let Some(booking) = q::booking(&mut *tx, t, a.booking).await? else {
                break 'body None;
            };
            outbox::log_change!(tx, t, by, a.patient, now);
            if a.visit_from != a.visit_to {
                q::insert_booking_event(
                    &mut *tx,
                    t,
                    event_id,
                    a.booking,
                    Some(a.visit_from),
                    a.visit_to,
                    by.person,
                    now,
                )
                .await?;
                if let Some(kind) = tillit_domain::events::of(BookingChange::Status {
                    from: a.visit_from,
                    to: a.visit_to,
                }) {
                    q::insert_plugin_event(
                        &mut *tx,
                        t,
                        &uuid::Uuid::new_v4().to_string(),
                        &booking,
                        kind,
                        now,
                    )
                    .await?;
                }
            }
            // The patient's own messages: the visit as they saw it, and as
            // they see it now.
            let seen = Booking {
                status: tillit_domain::group::seen_by(booking.status, a.to),
                ..booking.clone()
            };
            let change = BookingChange::Status {
                from: tillit_domain::group::seen_by(a.visit_from, a.from),
                to: seen.status,
            };
            let plan = tillit_domain::notify::plan(change, &seen, reminder_lead, now);
            Some(outbox::apply_plan!(tx, t, a.booking, a.patient, &plan, now))
        })?;
        if won.is_some() {
            self.events.notify_one();
        }
        if won == Some(true) {
            self.wake.notify_one();
        }
        Ok(won.is_some())
    }
}
