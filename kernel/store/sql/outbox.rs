//! The outbox: messages and reminders caused by changes to bookings, and
//! the plugins' events about them.

use sqlx::Executor;
use tillit_domain::booking::{Booking, BookingStatus};
use tillit_domain::events::{BookingEvent, PendingPluginEvent};
use tillit_domain::notify::{Channel, NoticeKind, NoticeStatus, Notification};
use tillit_domain::{PersonId, TenantId, Timestamp};

use super::{Result, corrupt};
use crate::Db;

/// Adds a message to the outbox. `status` is `queued` for a message to send
/// now (its delivery job is pushed in the same transaction) or `scheduled`
/// for a reminder.
#[allow(clippy::too_many_arguments)]
pub async fn insert_notification<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
    booking: &str,
    person: &PersonId,
    kind: NoticeKind,
    channel: Channel,
    status: NoticeStatus,
    due_at: Timestamp,
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO notifications (tenant_id, id, booking_id, person_id, kind, channel, status, due_at, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"#,
        tenant.as_str(),
        id,
        booking,
        person.as_str(),
        kind.as_str(),
        channel.as_str(),
        status.as_str(),
        due_at.0,
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Records that plugins are to hear `kind` about the booking, as it is now.
/// Written in the change's own transaction; delivered in `seq` order.
pub async fn insert_plugin_event<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
    booking: &Booking,
    kind: BookingEvent,
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO plugin_events (tenant_id, id, seq, booking_id, kind, visit_status, starts_at, ends_at, created_at)
           SELECT $1, $2, COALESCE(MAX(seq), 0) + 1, $3, $4, $5, $6, $7, $8
           FROM plugin_events WHERE tenant_id = $1"#,
        tenant.as_str(),
        id,
        booking.id,
        kind.as_str(),
        booking.status.as_str(),
        booking.starts_at.0,
        booking.ends_at().0,
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Plugin events not yet delivered, oldest first.
pub async fn pending_plugin_events<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    limit: i64,
) -> Result<Vec<PendingPluginEvent>> {
    let rows = sqlx::query!(
        r#"SELECT id AS "id!", booking_id AS "booking_id!", kind AS "kind!", visit_status AS "visit_status!",
                  starts_at AS "starts_at!", ends_at AS "ends_at!"
           FROM plugin_events WHERE tenant_id = $1 AND delivered_at IS NULL
           ORDER BY seq LIMIT $2"#,
        tenant.as_str(),
        limit,
    )
    .fetch_all(ex)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(PendingPluginEvent {
                id: r.id,
                booking_id: r.booking_id,
                kind: BookingEvent::parse(&r.kind).ok_or_else(|| corrupt("plugin event kind"))?,
                visit_status: BookingStatus::parse(&r.visit_status)
                    .ok_or_else(|| corrupt("visit status"))?,
                starts_at: Timestamp(r.starts_at),
                ends_at: Timestamp(r.ends_at),
            })
        })
        .collect()
}

/// Marks a plugin event delivered; false if it already was.
pub async fn mark_plugin_event_delivered<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query!(
        "UPDATE plugin_events SET delivered_at = $3 WHERE tenant_id = $1 AND id = $2 AND delivered_at IS NULL",
        tenant.as_str(),
        id,
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Withdraws the reminders of a booking to `person` that have not left yet.
pub async fn withdraw_reminders<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    booking: &str,
    person: &PersonId,
) -> Result<u64> {
    let done = sqlx::query!(
        r#"UPDATE notifications SET status = 'cancelled'
           WHERE tenant_id = $1 AND booking_id = $2 AND person_id = $3 AND kind = 'reminder'
             AND status IN ('scheduled', 'queued')"#,
        tenant.as_str(),
        booking,
        person.as_str(),
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}

/// Reminders whose time has come, oldest first.
pub async fn due_reminders<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<String>> {
    sqlx::query_scalar!(
        r#"SELECT id AS "id!" FROM notifications
           WHERE tenant_id = $1 AND status = 'scheduled' AND due_at <= $2
           ORDER BY due_at LIMIT $3"#,
        tenant.as_str(),
        now.0,
        limit,
    )
    .fetch_all(ex)
    .await
}

/// Moves a scheduled reminder to the delivery queue. Returns whether it was
/// still scheduled.
pub async fn queue_reminder<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
) -> Result<bool> {
    let done = sqlx::query!(
        "UPDATE notifications SET status = 'queued' WHERE tenant_id = $1 AND id = $2 AND status = 'scheduled'",
        tenant.as_str(),
        id,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

struct NotificationRow {
    id: String,
    booking_id: String,
    person_id: String,
    kind: String,
    channel: String,
    status: String,
    due_at: i64,
    attempts: i64,
    recipient: Option<String>,
    body: Option<String>,
    provider: Option<String>,
    provider_id: Option<String>,
    delivery: Option<String>,
    last_error: Option<String>,
    created_at: i64,
    sent_at: Option<i64>,
}

impl NotificationRow {
    fn into_notification(self) -> Result<Notification> {
        Ok(Notification {
            id: self.id,
            booking_id: self.booking_id,
            person: PersonId::new(self.person_id),
            kind: NoticeKind::parse(&self.kind).ok_or_else(|| corrupt("notification kind"))?,
            channel: Channel::parse(&self.channel)
                .ok_or_else(|| corrupt("notification channel"))?,
            status: NoticeStatus::parse(&self.status)
                .ok_or_else(|| corrupt("notification status"))?,
            due_at: Timestamp(self.due_at),
            attempts: self.attempts,
            recipient: self.recipient,
            body: self.body,
            provider: self.provider,
            provider_id: self.provider_id,
            delivery: self.delivery,
            last_error: self.last_error,
            created_at: Timestamp(self.created_at),
            sent_at: self.sent_at.map(Timestamp),
        })
    }
}

/// `SELECT <every column of a notification> FROM notifications ` followed by `$rest`.
macro_rules! select_notifications {
    ($rest:literal, $($args:tt)*) => {
        sqlx::query_as!(
            NotificationRow,
            r#"SELECT id AS "id!", booking_id AS "booking_id!", person_id AS "person_id!", kind AS "kind!",
                      channel AS "channel!", status AS "status!", due_at AS "due_at!", attempts AS "attempts!",
                      recipient AS "recipient?", body AS "body?", provider AS "provider?",
                      provider_id AS "provider_id?", delivery AS "delivery?", last_error AS "last_error?",
                      created_at AS "created_at!", sent_at AS "sent_at?"
               FROM notifications "# + $rest,
            $($args)*
        )
    };
}

pub async fn notification<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
) -> Result<Option<Notification>> {
    let row = select_notifications!("WHERE tenant_id = $1 AND id = $2", tenant.as_str(), id)
        .fetch_optional(ex)
        .await?;
    row.map(NotificationRow::into_notification).transpose()
}

/// The newest messages of the tenant, for the development outbox page.
pub async fn recent_notifications<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    limit: i64,
) -> Result<Vec<Notification>> {
    let rows = select_notifications!(
        "WHERE tenant_id = $1 ORDER BY created_at DESC, due_at DESC LIMIT $2",
        tenant.as_str(),
        limit
    )
    .fetch_all(ex)
    .await?;
    rows.into_iter()
        .map(NotificationRow::into_notification)
        .collect()
}

/// A booking's messages, in the order they were made.
pub async fn notifications_of_booking<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    booking: &str,
) -> Result<Vec<Notification>> {
    let rows = select_notifications!(
        "WHERE tenant_id = $1 AND booking_id = $2 ORDER BY created_at, due_at, id",
        tenant.as_str(),
        booking
    )
    .fetch_all(ex)
    .await?;
    rows.into_iter()
        .map(NotificationRow::into_notification)
        .collect()
}

/// Records what left: the rendered text, where it went, and the provider's
/// id, counting the attempt. Only a message still queued can be marked;
/// returns whether it was.
#[allow(clippy::too_many_arguments)]
pub async fn mark_sent<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
    recipient: &str,
    body: &str,
    provider: &str,
    provider_id: Option<&str>,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query!(
        r#"UPDATE notifications SET status = 'sent', recipient = $3, body = $4, provider = $5, provider_id = $6,
                  sent_at = $7, last_error = NULL, attempts = attempts + 1
           WHERE tenant_id = $1 AND id = $2 AND status = 'queued'"#,
        tenant.as_str(),
        id,
        recipient,
        body,
        provider,
        provider_id,
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failed attempt; `give_up` ends the message's life as `failed`.
pub async fn mark_attempt_failed<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
    error: &str,
    give_up: bool,
) -> Result<()> {
    sqlx::query!(
        r#"UPDATE notifications SET last_error = $3, attempts = attempts + 1,
                  status = CASE WHEN $4 THEN 'failed' ELSE status END
           WHERE tenant_id = $1 AND id = $2 AND status = 'queued'"#,
        tenant.as_str(),
        id,
        error,
        give_up,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Records a provider's delivery report for the message it knows as
/// `provider_id`. Returns whether such a message exists in this tenant.
pub async fn record_delivery<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
    provider_id: &str,
    delivery: &str,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query!(
        "UPDATE notifications SET delivery = $4, delivered_at = $5 WHERE tenant_id = $1 AND id = $2 AND provider_id = $3",
        tenant.as_str(),
        id,
        provider_id,
        delivery,
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}
