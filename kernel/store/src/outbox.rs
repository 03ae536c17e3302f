//! The outbox: messages written in the same transaction as the change that
//! causes them, and delivered by a durable job queue.
//!
//! Two parts, each doing what it is good at:
//! - the `notifications` table (ours) says what is to be sent, to whom, and
//!   what became of it; reminders wait there (`scheduled`) until their time,
//!   so moving or cancelling a visit is one `UPDATE` in the same transaction;
//! - apalis (a maintained job queue over the same database) delivers: a job
//!   carries only `(tenant, notification id)`, is pushed in the same
//!   transaction as the row, survives crashes (a restarted worker of the same
//!   name takes back the jobs it held), and is retried with backoff.
//!
//! The delivery handler checks the row before sending, so a job that runs
//! again after its message went out, or after it was withdrawn, sends nothing.

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::*;
use serde::{Deserialize, Serialize};
use tillit_domain::events::PendingPluginEvent;
use tillit_domain::notify::{NoticeKind, Notification};
use tillit_domain::{TenantId, Timestamp};

use crate::{Pool, Result, Store, StoreError, TenantStore};

/// A delivery job: which message, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub tenant: String,
    pub notification: String,
}

/// What the delivery handler reports for one attempt.
#[derive(Debug)]
pub enum DeliveryError {
    /// Worth trying again later (network, provider overloaded, 5xx).
    Transient(String),
}

impl std::fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeliveryError::Transient(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for DeliveryError {}

/// The prefix of the worker's name; each process adds a random suffix. A
/// worker's heartbeat takes back the jobs of any other worker silent for a
/// few heartbeats, so the jobs a killed process held are delivered by its
/// successor (or by a peer) once the dead one's heartbeats have lapsed.
pub const WORKER: &str = "tillit-outbox";

/// How the worker polls and retries.
#[derive(Debug, Clone, Copy)]
pub struct WorkerSettings {
    /// How often apalis' heartbeat runs; a job held by a worker silent for
    /// longer than a few of these is given to another.
    pub heartbeat: Duration,
    /// Polling when nothing wakes the worker (retries, jobs of crashed peers).
    pub poll: Duration,
    /// Retries within one run of a job, with exponential backoff from
    /// `backoff_min` to `backoff_max`.
    pub retries: usize,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(5),
            poll: Duration::from_secs(1),
            retries: 4,
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
        }
    }
}

/// A delivery job for message `id`. Reminders, which have a time to keep,
/// go before changes, and changes before new invitations, when the queue
/// has a backlog.
pub(crate) fn payload(tenant: &TenantId, id: &str, kind: NoticeKind) -> (Vec<u8>, usize) {
    let job = serde_json::to_vec(&Delivery {
        tenant: tenant.as_str().to_owned(),
        notification: id.to_owned(),
    })
    .unwrap_or_default();
    let priority = match kind {
        NoticeKind::Reminder => 2,
        NoticeKind::Moved | NoticeKind::Cancelled => 1,
        NoticeKind::Invited => 0,
    };
    (job, priority)
}

/// Inserts the rows a [`NoticePlan`] asks for and pushes delivery jobs for
/// those to send now, inside the caller's transaction. Expands where `q`
/// names the backend's queries (inside `in_transaction!`).
macro_rules! apply_plan {
    ($tx:ident, $t:expr, $booking:expr, $patient:expr, $plan:expr, $now:expr) => {{
        let plan: &tillit_domain::notify::NoticePlan = $plan;
        let (phone, email) = q::contact_of(&mut *$tx, $t, $patient).await?;
        let mut jobs: Vec<(Vec<u8>, usize)> = Vec::new();
        if let Some(kind) = plan.now {
            for (channel, known) in [
                (tillit_domain::notify::Channel::Sms, phone.is_some()),
                (tillit_domain::notify::Channel::Email, email.is_some()),
            ] {
                if !known {
                    continue;
                }
                let id = uuid::Uuid::new_v4().to_string();
                q::insert_notification(
                    &mut *$tx,
                    $t,
                    &id,
                    $booking,
                    $patient,
                    kind,
                    channel,
                    tillit_domain::notify::NoticeStatus::Queued,
                    $now,
                    $now,
                )
                .await?;
                jobs.push($crate::outbox::payload($t, &id, kind));
            }
        }
        match plan.reminder {
            tillit_domain::notify::ReminderPlan::Keep => {}
            tillit_domain::notify::ReminderPlan::Withdraw => {
                q::withdraw_reminders(&mut *$tx, $t, $booking, $patient).await?;
            }
            tillit_domain::notify::ReminderPlan::Schedule(due) => {
                q::withdraw_reminders(&mut *$tx, $t, $booking, $patient).await?;
                if phone.is_some() {
                    q::insert_notification(
                        &mut *$tx,
                        $t,
                        &uuid::Uuid::new_v4().to_string(),
                        $booking,
                        $patient,
                        tillit_domain::notify::NoticeKind::Reminder,
                        tillit_domain::notify::Channel::Sms,
                        tillit_domain::notify::NoticeStatus::Scheduled,
                        due,
                        $now,
                    )
                    .await?;
                }
            }
        }
        q::push_deliveries(&mut *$tx, &jobs).await?;
        !jobs.is_empty()
    }};
}
pub(crate) use apply_plan;

/// Writes everything a change to a booking causes, inside the change's own
/// transaction: the messages and the reminder its notice plan asks for
/// ([`apply_plan!`]) and the event the tenant's plugins hear
/// (`tillit_domain::events::of`). Every transaction that changes a booking
/// ends with this, so none can forget an effect. Evaluates to whether
/// messages were queued for sending now.
macro_rules! booking_changed {
    ($tx:ident, $t:expr, $booking:expr, $change:expr, $lead:expr, $now:expr) => {{
        let booking: &tillit_domain::booking::Booking = $booking;
        let change: tillit_domain::notify::BookingChange = $change;
        let plan = tillit_domain::notify::plan(change, booking, $lead, $now);
        if let Some(kind) = tillit_domain::events::of(change) {
            q::insert_plugin_event(
                &mut *$tx,
                $t,
                &uuid::Uuid::new_v4().to_string(),
                booking,
                kind,
                $now,
            )
            .await?;
        }
        let group = q::group_patients(&mut *$tx, $t, &booking.id).await?;
        if group.is_empty() {
            $crate::outbox::apply_plan!($tx, $t, &booking.id, &booking.patient, &plan, $now)
        } else {
            // A group visit: each patient still coming is told of the visit
            // as they see it (`group::seen_by`).
            let mut queued = false;
            for (patient, answer) in &group {
                if *answer == tillit_domain::group::Attendance::Declined {
                    continue;
                }
                let (change, seen) = $crate::outbox::as_seen_by(change, booking, *answer);
                let plan = tillit_domain::notify::plan(change, &seen, $lead, $now);
                queued |= $crate::outbox::apply_plan!($tx, $t, &booking.id, patient, &plan, $now);
            }
            queued
        }
    }};
}
pub(crate) use booking_changed;

/// A change to a group visit and the visit, as a patient with `answer`
/// sees them (`tillit_domain::group::seen_by`).
pub(crate) fn as_seen_by(
    change: tillit_domain::notify::BookingChange,
    booking: &tillit_domain::booking::Booking,
    answer: tillit_domain::group::Attendance,
) -> (
    tillit_domain::notify::BookingChange,
    tillit_domain::booking::Booking,
) {
    use tillit_domain::group::seen_by;
    use tillit_domain::notify::BookingChange;
    let change = match change {
        BookingChange::Status { from, to } => BookingChange::Status {
            from: seen_by(from, answer),
            to: seen_by(to, answer),
        },
        other => other,
    };
    let seen = tillit_domain::booking::Booking {
        status: seen_by(booking.status, answer),
        ..booking.clone()
    };
    (change, seen)
}

/// Writes the access-log entry for a change a person made to a booking of
/// `patient`, inside the change's transaction, when the change is one that
/// is logged and the booking's patient is a patient (not a colleague in a
/// test visit).
macro_rules! log_change {
    ($tx:ident, $t:expr, $by:expr, $patient:expr, $now:expr) => {{
        let by: &$crate::ChangedBy<'_> = $by;
        if let Some(what) = by.logged_as
            && let Some(p) = q::person_by_id(&mut *$tx, $t, $patient).await?
            && p.role == tillit_domain::Role::Patient
        {
            let access = tillit_domain::access::AccessEvent {
                actor: by.accessor(),
                patient: p.id.clone(),
                patient_personnummer: p.personnummer.clone(),
                action: tillit_domain::access::AccessAction::Update,
                what,
            };
            q::insert_access_event(&mut *$tx, $t, &access, $now).await?;
        }
    }};
}

/// Whether booking `$id` is still at version `$v`, holding it for the rest
/// of the transaction (`q::hold_booking`): a change guarded by FHIR
/// `If-Match` checks it first, in its own transaction.
macro_rules! still_at_version {
    ($tx:ident, $t:expr, $id:expr, $v:expr) => {{
        q::hold_booking(&mut *$tx, $t, $id).await?;
        q::latest_booking_version_number(&mut *$tx, $t, $id).await? == $v
    }};
}
pub(crate) use still_at_version;

/// [`log_change!`] for every patient of `booking`: a change to a group
/// visit changes each of its patients' data.
macro_rules! log_booking_change {
    ($tx:ident, $t:expr, $by:expr, $booking:expr, $now:expr) => {{
        let booking: &tillit_domain::booking::Booking = $booking;
        let group = q::group_patients(&mut *$tx, $t, &booking.id).await?;
        if group.is_empty() {
            $crate::outbox::log_change!($tx, $t, $by, &booking.patient, $now);
        } else {
            for (patient, _) in &group {
                $crate::outbox::log_change!($tx, $t, $by, patient, $now);
            }
        }
    }};
}
pub(crate) use log_booking_change;
pub(crate) use log_change;

impl TenantStore<'_> {
    /// Hands the reminders that have fallen due to the delivery queue, at
    /// most `limit` of them. Returns how many.
    pub async fn queue_due_reminders(&self, now: Timestamp, limit: i64) -> Result<usize> {
        let t = &self.tenant;
        let queued: Option<usize> = in_transaction!(self.pool, |tx| {
            let ids = q::due_reminders(&mut *tx, t, now, limit).await?;
            let mut jobs = Vec::with_capacity(ids.len());
            for id in &ids {
                if q::queue_reminder(&mut *tx, t, id).await? {
                    jobs.push(payload(t, id, NoticeKind::Reminder));
                }
            }
            q::push_deliveries(&mut tx, &jobs).await?;
            Some(jobs.len())
        })?;
        let queued = queued.unwrap_or(0);
        if queued > 0 {
            self.wake.notify_one();
        }
        Ok(queued)
    }

    one_query! {
        /// Plugin events not yet delivered, oldest first, at most `limit`.
        pub async fn pending_plugin_events(
            &self,
            limit: i64,
        ) -> Result<Vec<PendingPluginEvent>> = read q::pending_plugin_events;

        /// Marks a plugin event delivered; `false` if it already was.
        pub async fn mark_plugin_event_delivered(
            &self,
            id: &str,
            now: Timestamp,
        ) -> Result<bool> = write q::mark_plugin_event_delivered;

        pub async fn notification(
            &self,
            id: &str,
        ) -> Result<Option<Notification>> = read q::notification;

        /// The newest messages, newest first.
        pub async fn recent_notifications(
            &self,
            limit: i64,
        ) -> Result<Vec<Notification>> = read q::recent_notifications;

        /// A booking's messages, oldest first.
        pub async fn notifications_of_booking(
            &self,
            booking: &str,
        ) -> Result<Vec<Notification>> = read q::notifications_of_booking;

        /// Records a sent message and counts the attempt; `false` if it was no
        /// longer queued (withdrawn meanwhile).
        #[allow(clippy::too_many_arguments)]
        pub async fn mark_sent(
            &self,
            id: &str,
            recipient: &str,
            body: &str,
            provider: &str,
            provider_id: Option<&str>,
            now: Timestamp,
        ) -> Result<bool> = write q::mark_sent;

        /// Records a failed attempt; with `give_up` the message is `failed` for good.
        pub async fn mark_attempt_failed(
            &self,
            id: &str,
            error: &str,
            give_up: bool,
        ) -> Result<()> = write q::mark_attempt_failed;

        /// Records a provider's delivery report. `false` if no such message.
        pub async fn record_delivery(
            &self,
            id: &str,
            provider_id: &str,
            delivery: &str,
            now: Timestamp,
        ) -> Result<bool> = write q::record_delivery;
    }
}

/// Wakes the worker whenever a transaction has pushed jobs, and every
/// `poll` besides.
fn wake_stream(
    wake: Arc<tokio::sync::Notify>,
    poll: Duration,
) -> impl futures::Stream<Item = ()> + Unpin + Send + 'static {
    Box::pin(futures::stream::unfold(wake, move |wake| async move {
        let _ = tokio::time::timeout(poll, wake.notified()).await;
        Some(((), wake))
    }))
}

/// Builds and runs the worker on `$backend` until `$shutdown` resolves.
macro_rules! run_worker {
    ($backend:expr, $settings:expr, $handler:expr, $shutdown:expr) => {{
        let s: WorkerSettings = $settings;
        let handler = $handler;
        let backoff = tower::retry::backoff::ExponentialBackoffMaker::new(
            s.backoff_min,
            s.backoff_max,
            0.5,
            tower::util::rng::HasherRng::default(),
        )
        .map_err(|e| StoreError::Database(format!("outbox backoff: {e}")))?;
        let backoff = tower::retry::backoff::MakeBackoff::make_backoff(&mut { backoff });
        let worker = WorkerBuilder::new(format!("{WORKER}-{}", uuid::Uuid::new_v4()))
            .backend($backend)
            .retry(RetryPolicy::retries(s.retries).with_backoff(backoff))
            .concurrency(16)
            .build(move |job: Delivery| {
                let handler = handler.clone();
                async move { handler(job).await }
            });
        let shutdown = $shutdown;
        worker
            .run_until(async move {
                shutdown.await;
                Ok::<(), std::io::Error>(())
            })
            .await
            .map_err(|e| StoreError::Database(format!("outbox worker: {e}")))
    }};
}

impl Store {
    /// Resolves when a transaction has recorded plugin events since the
    /// last call (or at once if one did before anyone waited), for the
    /// plugin-event worker.
    pub async fn plugin_events_recorded(&self) {
        self.events.notified().await;
    }

    /// Runs the delivery worker until `shutdown` resolves: every queued
    /// message is passed to `handler`, which sends it and records the
    /// outcome; an `Err` is retried with backoff.
    pub async fn run_outbox<H, F>(
        &self,
        settings: WorkerSettings,
        handler: H,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<()>
    where
        H: Fn(Delivery) -> F + Clone + Send + Sync + 'static,
        F: std::future::Future<Output = std::result::Result<(), DeliveryError>> + Send + 'static,
    {
        let wake = wake_stream(Arc::clone(&self.wake), settings.poll);
        match &self.pool {
            Pool::Sqlite { write, .. } => {
                use tillit_store_sqlite::queue::apalis_sqlite::{Config, SqliteStorage};
                let config = Config::default()
                    .batch_size(32)
                    .queue(tillit_store_sqlite::queue::QUEUE)
                    .heartbeat_interval(settings.heartbeat);
                let backend = SqliteStorage::<Delivery>::new(write)
                    .with_config(config)
                    .poll_with_stream(wake);
                run_worker!(backend, settings, handler, shutdown)
            }
            Pool::Postgres(pool) => {
                use tillit_store_postgres::queue::apalis_postgres::{Config, PostgresStorage};
                let config = Config::default()
                    .batch_size(32)
                    .queue(tillit_store_postgres::queue::QUEUE)
                    .heartbeat_interval(settings.heartbeat);
                let backend = PostgresStorage::<Delivery>::new(pool)
                    .with_config(config)
                    .poll_with_stream(wake);
                run_worker!(backend, settings, handler, shutdown)
            }
        }
    }
}
