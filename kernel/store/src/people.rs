//! People: creating, finding and removing the tenant's patients and staff,
//! and the contact details a person may change themselves.

use tillit_domain::access::{AccessAction, AccessEvent, Accessor};
use tillit_domain::people::{HsaId, NewPerson};
use tillit_domain::{Person, PersonId, PersonStatus, Personnummer, Role, Timestamp};

use crate::{ChangedBy, Pool, Result, StoreError, TenantStore, outbox};

/// The details a person may change about themselves.
#[derive(Debug, Clone)]
pub struct Contact {
    pub given_name: tillit_domain::PersonName,
    pub family_name: tillit_domain::PersonName,
    pub phone: Option<tillit_domain::booking::MobileNumber>,
    pub email: Option<String>,
}

impl TenantStore<'_> {
    one_query! {
        /// Creates a person; [`StoreError::Conflict`] if the personnummer is taken.
        pub async fn create_person(
            &self,
            id: &PersonId,
            p: &NewPerson,
            now: Timestamp,
        ) -> Result<Person> = write q::insert_person;

        /// Creates the person unless the personnummer is already in the tenant.
        pub async fn ensure_person(
            &self,
            id: &PersonId,
            p: &NewPerson,
            now: Timestamp,
        ) -> Result<bool> = write q::insert_person_if_absent;

        pub async fn person_by_personnummer(
            &self,
            pnr: &Personnummer,
        ) -> Result<Option<Person>> = read q::person_by_personnummer;

        pub async fn person(&self, id: &PersonId) -> Result<Option<Person>> = read q::person_by_id;

        /// The people `a` and `b` (those of them on file), in one statement.
        pub async fn people_pair(&self, a: &PersonId, b: &PersonId) -> Result<Vec<Person>> = read q::people_pair;

        /// The member of staff with this HSA-id, if any.
        pub async fn person_by_hsa_id(&self, hsa_id: &HsaId) -> Result<Option<Person>> = read q::person_by_hsa_id;

        /// Everyone with `role` who is not removed, by family name.
        pub async fn people(&self, role: Role) -> Result<Vec<Person>> = read q::list_people;

        pub async fn delete_person(&self, id: &PersonId) -> Result<bool> = write q::delete_person;

        /// A person's mobile number and e-mail, if known.
        pub async fn contact_of(
            &self,
            person: &PersonId,
        ) -> Result<(Option<String>, Option<String>)> = read q::contact_of;
    }

    /// Sets a person's status and ends their sessions unless they stay
    /// active, with the access-log entry `by` names, in one transaction.
    /// Returns whether the person exists.
    pub async fn set_person_status(
        &self,
        id: &PersonId,
        status: PersonStatus,
        by: &ChangedBy<'_>,
        now: Timestamp,
    ) -> Result<bool> {
        let t = &self.tenant;
        let done = in_transaction!(self.pool, |tx| 'body: {
            if !q::set_person_status(&mut *tx, t, id, status, now).await? {
                break 'body None;
            }
            if !status.can_log_in() {
                q::delete_sessions_of(&mut *tx, t, id).await?;
            }
            outbox::log_change!(tx, t, by, id, now);
            Some(())
        })?;
        Ok(done.is_some())
    }

    /// Changes what a person may change about themselves (name, mobile
    /// number and e-mail, never the personnummer), with the access-log
    /// entry `by` names, in one transaction.
    pub async fn update_contact(
        &self,
        person: &PersonId,
        contact: &Contact,
        by: &ChangedBy<'_>,
        now: Timestamp,
    ) -> Result<()> {
        let t = &self.tenant;
        let c = contact;
        in_transaction!(self.pool, |tx| {
            q::update_contact(
                &mut *tx,
                t,
                person,
                &c.given_name,
                &c.family_name,
                c.phone.as_ref(),
                c.email.as_deref(),
                now,
            )
            .await?;
            outbox::log_change!(tx, t, by, person, now);
            Some(())
        })?;
        Ok(())
    }
}

impl TenantStore<'_> {
    /// Registers a new patient with how to reach them, and the access-log
    /// entry of `by` creating them (as `what`), in one transaction. Fails
    /// with a unique violation if the personnummer is already in the
    /// tenant.
    pub async fn register_patient(
        &self,
        id: &PersonId,
        contact: &Contact,
        p: &NewPerson,
        (by, what): (&Accessor, &'static str),
        now: Timestamp,
    ) -> Result<Person> {
        let t = &self.tenant;
        let c = contact;
        let person = in_transaction!(self.pool, |tx| {
            let person = q::insert_person(&mut *tx, t, id, p, now).await?;
            q::update_contact(
                &mut *tx,
                t,
                id,
                &c.given_name,
                &c.family_name,
                c.phone.as_ref(),
                c.email.as_deref(),
                now,
            )
            .await?;
            let access = AccessEvent {
                actor: by.clone(),
                patient: person.id.clone(),
                patient_personnummer: person.personnummer.clone(),
                action: AccessAction::Create,
                what,
            };
            q::insert_access_event(&mut *tx, t, &access, now).await?;
            Some(person)
        })?;
        person.ok_or_else(|| StoreError::Database("register_patient: no row".into()))
    }
}
