//! What a journal system (an EHR over FHIR) reads and registers on its own
//! account: patients, and the bookings it follows. Booking, moving and
//! cancelling go through `bookings` like every other door, with the
//! clinician as the actor acting through the journal system
//! ([`Actor::journal_system`](crate::Actor::journal_system)).
//!
//! Every read of a patient's data here writes the access log with the
//! journal system as the actor, before the data is returned: a search that
//! returns many patients logs them all in one write.

use std::collections::HashMap;

use tillit_domain::access::{AccessAction, Accessor};
use tillit_domain::booking::{Booking, BookingStatus, Colleague, MobileNumber, Profile, VisitKind};
use tillit_domain::group::{self, Attendance};
use tillit_domain::people::{HsaId, NewPerson};
use tillit_domain::version::{BookingVersion, PersonVersion};
use tillit_domain::{Person, PersonId, PersonStatus, Personnummer, Role, Timestamp, Version};
use tillit_store::{Contact, HistoryPage, StoreError};

use crate::{Env, Error, Problem};

/// A journal system, by its FHIR client id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalSystem {
    pub client: String,
}

impl JournalSystem {
    fn accessor(&self) -> Accessor {
        Accessor::JournalSystem {
            client: self.client.clone(),
        }
    }
}

/// A patient with how Tillit reaches them, at one version.
#[derive(Debug, Clone)]
pub struct PatientRecord {
    pub person: Person,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub version: Version,
}

impl PatientRecord {
    /// The patient as they were at version `v`, `current` being on file.
    fn at(current: &Person, v: PersonVersion) -> Self {
        Self {
            person: v.apply(current),
            phone: v.phone,
            email: v.email,
            version: v.version,
        }
    }
}

/// The latest of `versions` (all of them, or only the latest): every
/// record has at least its first one.
fn latest<T>(versions: impl IntoIterator<Item = T>) -> Result<T, Error> {
    versions.into_iter().last().ok_or_else(|| {
        Error::Store(StoreError::Database(
            "a record has no version on file".into(),
        ))
    })
}

/// The patient on file, at their latest version. Not logged: for a patient
/// whose read was logged with what brought them (a search's `_include`).
pub async fn patient_record(env: Env<'_>, person: Person) -> Result<PatientRecord, Error> {
    let v = latest(env.store.person_versions(&person.id).await?)?;
    Ok(PatientRecord::at(&person, v))
}

/// A patient of the tenant (a removed one is not found), not logged.
async fn patient_on_file(env: Env<'_>, id: &PersonId) -> Result<Person, Error> {
    env.store
        .person(id)
        .await?
        .filter(is_patient_on_file)
        .ok_or(Error::NotFound)
}

/// A patient of the tenant who is not removed: the only ones a journal
/// system finds.
fn is_patient_on_file(p: &Person) -> bool {
    p.role == Role::Patient && p.status != PersonStatus::Removed
}

async fn log_reads(
    env: Env<'_>,
    sys: &JournalSystem,
    people: &[&Person],
    what: &'static str,
) -> Result<(), Error> {
    let subjects = people.iter().map(|p| (&p.id, &p.personnummer, p.role));
    crate::access::log_as(env, &sys.accessor(), subjects, AccessAction::Read, what).await
}

/// A patient of the tenant, by Tillit's id (a removed one is not found).
pub async fn read_patient(
    env: Env<'_>,
    sys: &JournalSystem,
    id: &PersonId,
) -> Result<PatientRecord, Error> {
    let (person, v) = env
        .store
        .person_at_latest(id)
        .await?
        .filter(|(p, _)| is_patient_on_file(p))
        .ok_or(Error::NotFound)?;
    log_reads(env, sys, &[&person], "fhir.patient").await?;
    Ok(PatientRecord::at(&person, v))
}

/// Every version of a patient, newest first: their record's history.
pub async fn patient_versions(
    env: Env<'_>,
    sys: &JournalSystem,
    id: &PersonId,
) -> Result<Vec<PatientRecord>, Error> {
    let person = patient_on_file(env, id).await?;
    log_reads(env, sys, &[&person], "fhir.patient.history").await?;
    let versions = env.store.person_versions(id).await?;
    Ok(versions
        .into_iter()
        .rev()
        .map(|v| PatientRecord::at(&person, v))
        .collect())
}

/// Version `number` of a patient's record, as it was then.
pub async fn patient_version(
    env: Env<'_>,
    sys: &JournalSystem,
    id: &PersonId,
    number: u64,
) -> Result<PatientRecord, Error> {
    let person = patient_on_file(env, id).await?;
    let v = env
        .store
        .person_versions(id)
        .await?
        .into_iter()
        .find(|v| v.version.number == number)
        .ok_or(Error::NotFound)?;
    log_reads(env, sys, &[&person], "fhir.patient.history").await?;
    Ok(PatientRecord::at(&person, v))
}

/// The versions of all the tenant's patients made since `since`, newest
/// first, one page of them; the patients on the page are logged in one
/// write.
pub async fn patients_history(
    env: Env<'_>,
    sys: &JournalSystem,
    since: Timestamp,
    (count, offset): (usize, usize),
) -> Result<HistoryPage<PatientRecord>, Error> {
    let page = env
        .store
        .person_history(Role::Patient, since, count, offset)
        .await?;
    let mut people: Vec<Person> = Vec::new();
    for (id, _) in &page.versions {
        if !people.iter().any(|p| p.id == *id)
            && let Some(p) = env.store.person(id).await?
        {
            people.push(p);
        }
    }
    log_reads(
        env,
        sys,
        &people.iter().collect::<Vec<_>>(),
        "fhir.patient.history",
    )
    .await?;
    let versions = page
        .versions
        .into_iter()
        .filter_map(|(id, v)| {
            let p = people.iter().find(|p| p.id == id)?;
            Some(PatientRecord::at(p, v))
        })
        .collect();
    Ok(HistoryPage {
        total: page.total,
        versions,
    })
}

/// What a patient search asks for; every part given must match.
#[derive(Debug, Clone, Default)]
pub struct PatientQuery {
    pub personnummer: Option<Personnummer>,
    /// Part of the given or family name, any case.
    pub name: Option<String>,
    /// Year, month and day of birth.
    pub birthdate: Option<(i32, i32, i32)>,
}

/// The tenant's patients who match `q`, by family name.
pub async fn find_patients(
    env: Env<'_>,
    sys: &JournalSystem,
    q: &PatientQuery,
) -> Result<Vec<PatientRecord>, Error> {
    let candidates = match &q.personnummer {
        Some(pnr) => env
            .store
            .person_by_personnummer(pnr)
            .await?
            .into_iter()
            .filter(|p| p.role == Role::Patient && p.status != PersonStatus::Removed)
            .collect(),
        None => env.store.people(Role::Patient).await?,
    };
    let name = q.name.as_ref().map(|n| n.to_lowercase());
    let found: Vec<Person> = candidates
        .into_iter()
        .filter(|p| {
            name.as_ref().is_none_or(|n| {
                p.given_name.as_str().to_lowercase().contains(n.as_str())
                    || p.family_name.as_str().to_lowercase().contains(n.as_str())
            })
        })
        .filter(|p| {
            q.birthdate
                .is_none_or(|d| p.personnummer.date_of_birth() == d)
        })
        .collect();
    log_reads(
        env,
        sys,
        &found.iter().collect::<Vec<_>>(),
        "fhir.patient.search",
    )
    .await?;
    let mut out = Vec::with_capacity(found.len());
    for p in found {
        out.push(patient_record(env, p).await?);
    }
    Ok(out)
}

/// A patient a journal system registers.
#[derive(Debug, Clone)]
pub struct RegisterPatient {
    pub person: NewPerson,
    pub phone: MobileNumber,
    pub email: Option<String>,
}

/// Whether [`register_patient`] created the patient or found them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    Created,
    /// Already on file by personnummer: the record on file is kept as it
    /// is (contact details are the patient's own to change).
    OnFile,
}

/// Registers a patient, or finds them on file by personnummer. Two
/// registrations of the same person at the same instant create one.
pub async fn register_patient(
    env: Env<'_>,
    sys: &JournalSystem,
    cmd: RegisterPatient,
) -> Result<(PatientRecord, Registered), Error> {
    if cmd.person.role != Role::Patient {
        return Err(Error::invalid(Problem::NotAPatient));
    }
    let on_file = |found: Option<Person>| match found {
        Some(p) if p.role != Role::Patient => Err(Error::invalid(Problem::NotAPatient)),
        Some(p) if p.status == PersonStatus::Removed => {
            Err(Error::invalid(Problem::PatientInactive))
        }
        other => Ok(other),
    };
    if let Some(p) = on_file(
        env.store
            .person_by_personnummer(&cmd.person.personnummer)
            .await?,
    )? {
        log_reads(env, sys, &[&p], "fhir.patient").await?;
        return Ok((patient_record(env, p).await?, Registered::OnFile));
    }
    let id = PersonId::new(env.ids.new_id());
    let contact = Contact {
        given_name: cmd.person.given_name.clone(),
        family_name: cmd.person.family_name.clone(),
        phone: Some(cmd.phone),
        email: cmd.email,
    };
    match env
        .store
        .register_patient(
            &id,
            &contact,
            &cmd.person,
            (&sys.accessor(), "fhir.patient"),
            env.now,
        )
        .await
    {
        Ok(p) => {
            tracing::info!(tenant = %env.store.tenant(), client = %sys.client, person = %p.id, "patient registered by a journal system");
            Ok((patient_record(env, p).await?, Registered::Created))
        }
        // Registered by a concurrent request a moment ago: that one wins.
        Err(StoreError::Conflict { .. }) => {
            match on_file(
                env.store
                    .person_by_personnummer(&cmd.person.personnummer)
                    .await?,
            )? {
                Some(p) => {
                    log_reads(env, sys, &[&p], "fhir.patient").await?;
                    Ok((patient_record(env, p).await?, Registered::OnFile))
                }
                None => Err(Error::Store(StoreError::Conflict {
                    constraint: "people".into(),
                })),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Takes back the registration of patient `id`, which this journal system
/// made a moment ago in a transaction that then failed: the transaction
/// is all or nothing. Only a patient with nothing on file but the
/// registration goes; one who has a booking by now (made through another
/// request) stays. Returns whether they went.
pub async fn withdraw_registration(
    env: Env<'_>,
    sys: &JournalSystem,
    id: &PersonId,
) -> Result<bool, Error> {
    let Some(p) = env.store.person(id).await? else {
        return Ok(false);
    };
    if p.role != Role::Patient || !env.store.bookings_of(id, Timestamp(0)).await?.is_empty() {
        return Ok(false);
    }
    let gone = match env.store.delete_person(id).await {
        Ok(gone) => gone,
        // Something refers to them by now: they stay.
        Err(e) => {
            tracing::warn!(tenant = %env.store.tenant(), person = %id, error = %e, "a failed transaction's patient stays");
            false
        }
    };
    if gone {
        tracing::info!(tenant = %env.store.tenant(), client = %sys.client, person = %id, "registration withdrawn: its transaction failed");
    }
    Ok(gone)
}

/// A clinician of the tenant (staff data: not access-logged).
pub async fn read_clinician(env: Env<'_>, id: &PersonId) -> Result<Person, Error> {
    env.store
        .person(id)
        .await?
        .filter(is_clinician_on_file)
        .ok_or(Error::NotFound)
}

/// A clinician of the tenant who is not removed.
fn is_clinician_on_file(p: &Person) -> bool {
    p.role == Role::Clinician && p.status != PersonStatus::Removed
}

/// The clinician with this HSA-id.
pub async fn clinician_by_hsa_id(env: Env<'_>, hsa_id: &HsaId) -> Result<Person, Error> {
    env.store
        .person_by_hsa_id(hsa_id)
        .await?
        .filter(is_clinician_on_file)
        .ok_or(Error::NotFound)
}

/// A clinician with their profile (title, unit, whether published).
pub async fn clinician_role(env: Env<'_>, id: &PersonId) -> Result<(Person, Profile), Error> {
    let person = read_clinician(env, id).await?;
    let profile = env.store.profile(&person.id).await?.unwrap_or_default();
    Ok((person, profile))
}

/// The tenant's clinicians, by family name.
pub async fn clinicians(env: Env<'_>) -> Result<Vec<Person>, Error> {
    Ok(env.store.people(Role::Clinician).await?)
}

/// A booking with the people its Appointment names.
#[derive(Debug, Clone)]
pub struct BookingRecord {
    pub booking: Booking,
    pub patient: Person,
    pub clinician: Person,
    pub colleagues: Vec<Colleague>,
    /// Other systems' ids of the booking, as (system, value).
    pub external_ids: Vec<(String, String)>,
    /// The version this record is of, and when it was made.
    pub version: Version,
    /// The patient is on the visit's page now, waiting for it to start
    /// (never so for a version before the latest).
    pub patient_waiting: bool,
    /// A group visit's patients (the first among them) with their answers
    /// at this version, in the order invited; empty for a one-to-one visit.
    pub group: Vec<(Person, Attendance)>,
}

impl BookingRecord {
    /// Everyone whose data the booking holds: its patient, or a group
    /// visit's every patient.
    pub fn patients(&self) -> Vec<&Person> {
        if self.group.is_empty() {
            vec![&self.patient]
        } else {
            self.group.iter().map(|(p, _)| p).collect()
        }
    }

    /// Each patient with the visit as they see it (`group::seen_by`).
    pub fn patients_seeing(&self) -> Vec<(&Person, BookingStatus)> {
        if self.group.is_empty() {
            vec![(&self.patient, self.booking.status)]
        } else {
            self.group
                .iter()
                .map(|(p, a)| (p, group::seen_by(self.booking.status, *a)))
                .collect()
        }
    }

    pub fn has_patient(&self, id: &PersonId) -> bool {
        self.patients().iter().any(|p| p.id == *id)
    }
}

/// People already read while answering one request, by id: a search's
/// bookings mostly name the same few.
type People = HashMap<PersonId, Person>;

/// The person `id`, read once per request.
async fn person(env: Env<'_>, id: &PersonId, people: &mut People) -> Result<Person, Error> {
    if let Some(p) = people.get(id) {
        return Ok(p.clone());
    }
    let p = env.store.person(id).await?.ok_or(Error::NotFound)?;
    people.insert(id.clone(), p.clone());
    Ok(p)
}

/// The booking on file, at its latest version.
async fn record(
    env: Env<'_>,
    booking: Booking,
    people: &mut People,
) -> Result<BookingRecord, Error> {
    let v = latest(env.store.latest_booking_version(&booking.id).await?)?;
    let mut r = record_at(env, &booking, v, people).await?;
    r.patient_waiting = env
        .live
        .is_patient_waiting(env.store.tenant(), &booking.id, env.now);
    Ok(r)
}

/// `current` (the booking on file) as it was at version `v`. Its
/// colleagues are those invited now.
async fn record_at(
    env: Env<'_>,
    current: &Booking,
    v: BookingVersion,
    people: &mut People,
) -> Result<BookingRecord, Error> {
    let booking = v.apply(current);
    if !people.contains_key(&booking.patient) && !people.contains_key(&booking.clinician) {
        for p in env
            .store
            .people_pair(&booking.patient, &booking.clinician)
            .await?
        {
            people.insert(p.id.clone(), p);
        }
    }
    let patient = person(env, &booking.patient, people).await?;
    let clinician = person(env, &booking.clinician, people).await?;
    let mut group = Vec::new();
    if booking.kind == VisitKind::GroupVideo {
        // The patients are those invited now (none leaves a group visit:
        // they decline), with their answers at this version.
        for (n, (id, now)) in env
            .store
            .group_patients(&booking.id)
            .await?
            .into_iter()
            .enumerate()
        {
            let answer = v.attendance.get(n).copied().unwrap_or(now);
            group.push((person(env, &id, people).await?, answer));
        }
    }
    let colleagues = env.store.participants_of(&booking.id).await?;
    let external_ids = env
        .store
        .external_ids_of("Appointment", &booking.id)
        .await?;
    Ok(BookingRecord {
        booking,
        patient,
        clinician,
        colleagues,
        external_ids,
        version: v.version,
        patient_waiting: false,
        group,
    })
}

/// A booking, by id.
pub async fn read_booking(
    env: Env<'_>,
    sys: &JournalSystem,
    id: &str,
) -> Result<BookingRecord, Error> {
    let booking = env.store.booking(id).await?.ok_or(Error::NotFound)?;
    let r = record(env, booking, &mut People::new()).await?;
    log_reads(env, sys, &r.patients(), "fhir.appointment").await?;
    Ok(r)
}

/// Every version of a booking, newest first: its Appointment's history.
pub async fn booking_versions(
    env: Env<'_>,
    sys: &JournalSystem,
    id: &str,
) -> Result<Vec<BookingRecord>, Error> {
    let booking = env.store.booking(id).await?.ok_or(Error::NotFound)?;
    let mut out = Vec::new();
    let mut people = People::new();
    for v in env.store.booking_versions(id).await?.into_iter().rev() {
        out.push(record_at(env, &booking, v, &mut people).await?);
    }
    if let Some(r) = out.first() {
        log_reads(env, sys, &r.patients(), "fhir.appointment.history").await?;
    }
    Ok(out)
}

/// Version `number` of a booking, as it was then.
pub async fn booking_version(
    env: Env<'_>,
    sys: &JournalSystem,
    id: &str,
    number: u64,
) -> Result<BookingRecord, Error> {
    let booking = env.store.booking(id).await?.ok_or(Error::NotFound)?;
    let v = env
        .store
        .booking_versions(id)
        .await?
        .into_iter()
        .find(|v| v.version.number == number)
        .ok_or(Error::NotFound)?;
    let r = record_at(env, &booking, v, &mut People::new()).await?;
    log_reads(env, sys, &r.patients(), "fhir.appointment.history").await?;
    Ok(r)
}

/// The versions of all the tenant's bookings made since `since`, newest
/// first, one page of them; their patients are logged in one write.
pub async fn bookings_history(
    env: Env<'_>,
    sys: &JournalSystem,
    since: Timestamp,
    (count, offset): (usize, usize),
) -> Result<HistoryPage<BookingRecord>, Error> {
    let page = env.store.booking_history(since, count, offset).await?;
    let mut versions = Vec::with_capacity(page.versions.len());
    let mut people = People::new();
    for (id, v) in page.versions {
        if let Some(b) = env.store.booking(&id).await? {
            versions.push(record_at(env, &b, v, &mut people).await?);
        }
    }
    let patients: Vec<&Person> = versions.iter().flat_map(|r| r.patients()).collect();
    log_reads(env, sys, &patients, "fhir.appointment.history").await?;
    Ok(HistoryPage {
        total: page.total,
        versions,
    })
}

/// A visit that has started: its booking and when it really started and
/// ended (`ended` while it is still in progress is `None`).
#[derive(Debug, Clone)]
pub struct VisitRecord {
    pub record: BookingRecord,
    pub started: Timestamp,
    pub ended: Option<Timestamp>,
}

/// The visit of a booking, once it has started: what an Encounter shows.
/// Not found for a booking that was never started.
pub async fn visit_of(env: Env<'_>, record: BookingRecord) -> Result<Option<VisitRecord>, Error> {
    if !matches!(
        record.booking.status,
        BookingStatus::InProgress | BookingStatus::Finished
    ) {
        return Ok(None);
    }
    let times = env.store.status_times(&record.booking.id).await?;
    let at = |s: BookingStatus| times.iter().rev().find(|(t, _)| *t == s).map(|(_, at)| *at);
    let started = at(BookingStatus::InProgress).unwrap_or(record.booking.starts_at);
    let ended = at(BookingStatus::Finished);
    Ok(Some(VisitRecord {
        record,
        started,
        ended,
    }))
}

/// The visit of booking `id`, logged as a read of its patient's data.
pub async fn read_visit(env: Env<'_>, sys: &JournalSystem, id: &str) -> Result<VisitRecord, Error> {
    let record = read_booking(env, sys, id).await?;
    visit_of(env, record).await?.ok_or(Error::NotFound)
}

/// The booking another system's id names, if any.
pub async fn booking_by_external_id(
    env: Env<'_>,
    sys: &JournalSystem,
    id: (&str, &str),
) -> Result<Option<BookingRecord>, Error> {
    match env.store.resource_by_external_id("Appointment", id).await? {
        Some(booking) => Ok(Some(read_booking(env, sys, &booking).await?)),
        None => Ok(None),
    }
}

/// What a booking search asks for; every part given must match.
#[derive(Debug, Clone, Default)]
pub struct BookingQuery {
    pub patient: Option<PersonId>,
    /// The responsible clinician or an invited colleague.
    pub practitioner: Option<PersonId>,
    /// Bookings that start at or after this.
    pub from: Option<Timestamp>,
    /// Bookings that start before this.
    pub to: Option<Timestamp>,
}

/// The bookings that match `q`, soonest first.
pub async fn search_bookings(
    env: Env<'_>,
    sys: &JournalSystem,
    q: &BookingQuery,
) -> Result<Vec<BookingRecord>, Error> {
    let mut bookings: Vec<Booking> = Vec::new();
    let mut add = |items: Vec<tillit_domain::booking::BookingListItem>| {
        for i in items {
            if !bookings.iter().any(|b| b.id == i.booking.id) {
                bookings.push(i.booking);
            }
        }
    };
    match (&q.patient, &q.practitioner) {
        (Some(p), _) => add(env.store.bookings_of(p, Timestamp(0)).await?),
        (None, Some(c)) => {
            add(env.store.bookings_of(c, Timestamp(0)).await?);
            add(env.store.bookings_as_participant(c, Timestamp(0)).await?);
        }
        (None, None) => {
            for c in env.store.people(Role::Clinician).await? {
                add(env.store.bookings_of(&c.id, Timestamp(0)).await?);
            }
        }
    }
    let mut out = Vec::new();
    let mut people = People::new();
    for b in bookings {
        if q.from.is_some_and(|t| b.starts_at < t) || q.to.is_some_and(|t| b.starts_at >= t) {
            continue;
        }
        let r = record(env, b, &mut people).await?;
        if q.patient.as_ref().is_some_and(|p| !r.has_patient(p)) {
            continue;
        }
        if let Some(c) = &q.practitioner
            && r.booking.clinician != *c
            && !r.colleagues.iter().any(|col| col.id == *c)
        {
            continue;
        }
        out.push(r);
    }
    out.sort_by(|a, b| {
        (a.booking.starts_at, &a.booking.id).cmp(&(b.booking.starts_at, &b.booking.id))
    });
    let patients: Vec<&Person> = out.iter().flat_map(|r| r.patients()).collect();
    log_reads(env, sys, &patients, "fhir.appointment.search").await?;
    Ok(out)
}

/// Records that the journal system used the client assertion `jti`, valid
/// until `expires_at`: each assertion buys one token, also across a
/// restart. False if it was used before.
pub async fn first_use_of_assertion(
    env: Env<'_>,
    sys: &JournalSystem,
    jti: &str,
    expires_at: Timestamp,
) -> Result<bool, Error> {
    Ok(env
        .store
        .first_use_of_assertion(&sys.client, jti, expires_at, env.now)
        .await?)
}
