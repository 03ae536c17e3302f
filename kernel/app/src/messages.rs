//! Messages to patients: who may read the outbox (the development page
//! today), and what happens to a message after it left: a provider's
//! delivery report (46elks' `whendelivered` today; any SMS or e-mail
//! provider's door calls the same).

use std::collections::HashSet;

use tillit_domain::notify::Notification;
use tillit_domain::{Person, PersonId, Role};

use crate::{Actor, Env, Error, access};

/// The messages `actor` may read among the tenant's newest `limit`, newest
/// first. A message names its recipient and, once sent, their number or
/// address and the time of their visit: patient data. So staff
/// (administrators and clinicians) read every message, logged as a read of
/// each recipient's data; a patient reads only their own, logged too.
pub async fn outbox(env: Env<'_>, actor: &Actor, limit: i64) -> Result<Vec<Notification>, Error> {
    let me = &actor.person;
    let newest = env.store.recent_notifications(limit).await?;
    let shown: Vec<Notification> = if me.role.is_staff() {
        newest
    } else {
        newest.into_iter().filter(|n| n.person == me.id).collect()
    };
    let recipients: HashSet<&PersonId> = shown.iter().map(|n| &n.person).collect();
    if me.role.is_staff() {
        let read: Vec<Person> = env
            .store
            .people(Role::Patient)
            .await?
            .into_iter()
            .filter(|p| recipients.contains(&p.id))
            .collect();
        access::log_people_read(env, actor, &read, "outbox").await?;
    } else if !recipients.is_empty() {
        access::log_people_read(env, actor, [me], "outbox").await?;
    }
    Ok(shown)
}

/// What a provider reports about a message it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Handed on towards the phone, not yet confirmed.
    Sent,
    Delivered,
    Failed,
}

impl Delivery {
    /// The provider's word for it (46elks': `sent`, `delivered`, `failed`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sent" => Some(Delivery::Sent),
            "delivered" => Some(Delivery::Delivered),
            "failed" => Some(Delivery::Failed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Sent => "sent",
            Delivery::Delivered => "delivered",
            Delivery::Failed => "failed",
        }
    }
}

/// Records the provider's report on message `id` (the provider's own id
/// for it is `provider_id`). [`Error::NotFound`] if there is no such
/// message in the tenant.
pub async fn record_delivery(
    env: Env<'_>,
    id: &str,
    provider_id: &str,
    delivery: Delivery,
) -> Result<(), Error> {
    if env
        .store
        .record_delivery(id, provider_id, delivery.as_str(), env.now)
        .await?
    {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}
