//! Visits: a confirmed booking becomes a visit when a clinician starts it.

use std::time::Duration;

use tillit_domain::booking::{Booking, BookingStatus};
use tillit_domain::notify::BookingChange;
use tillit_domain::{PersonId, Timestamp};

use crate::{Pool, Result, StoreError, TenantStore, outbox};

impl TenantStore<'_> {
    /// Starts a visit: confirmed → in progress, recorded with who and when,
    /// and the clinician who starts it becomes responsible (the one before
    /// stays on as an invited colleague). Returns whether this start won.
    pub async fn start_visit(
        &self,
        id: &str,
        starter: &PersonId,
        event_id: &str,
        reminder_lead: Duration,
        now: Timestamp,
    ) -> Result<bool> {
        let t = &self.tenant;
        let (from, to) = (BookingStatus::Confirmed, BookingStatus::InProgress);
        let won: Option<()> = in_transaction!(self.pool, |tx| 'body: {
            let Some(before) = q::booking(&mut *tx, t, id).await? else {
                break 'body None;
            };
            if !q::set_booking_status(&mut *tx, t, id, from, to, now).await? {
                break 'body None;
            }
            q::insert_booking_event(&mut *tx, t, event_id, id, Some(from), to, starter, now)
                .await?;
            if before.clinician != *starter {
                q::delete_participant(&mut *tx, t, id, starter).await?;
                q::insert_participant(&mut *tx, t, id, &before.clinician, starter, now).await?;
                q::set_responsible_clinician(&mut *tx, t, id, starter, now).await?;
            }
            let booking = Booking {
                status: to,
                clinician: starter.clone(),
                ..before
            };
            // Starting sends nothing; it only withdraws the reminder.
            let _ = outbox::booking_changed!(
                tx,
                t,
                &booking,
                BookingChange::Status { from, to },
                reminder_lead,
                now
            );
            Some(())
        })?;
        if won.is_some() {
            self.events.notify_one();
        }
        Ok(won.is_some())
    }
}
