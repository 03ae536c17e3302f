//! What a change to a booking tells the patient, and when.
//!
//! The rules, in one place: an invitation, a change of time and a
//! cancellation are sent at once (SMS, and e-mail when the address is
//! known); a confirmed visit gets one reminder SMS a tenant-set time before
//! it starts; a move replaces that reminder, and anything that ends the
//! booking's waiting (cancelled, started, no-show) withdraws it.
//!
//! Messages never carry health information: the texts are built from the
//! time, the tenant's product name and a link only (see [`SmsFacts`]).

use std::time::Duration;

use crate::booking::{Booking, BookingStatus};
use crate::time::Timestamp;

/// Why a message is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    Invited,
    Moved,
    Cancelled,
    Reminder,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 4] = [
        NoticeKind::Invited,
        NoticeKind::Moved,
        NoticeKind::Cancelled,
        NoticeKind::Reminder,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Invited => "invited",
            NoticeKind::Moved => "moved",
            NoticeKind::Cancelled => "cancelled",
            NoticeKind::Reminder => "reminder",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Sms,
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Channel::Sms, Channel::Email]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// Where a message is in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeStatus {
    /// A reminder waiting for its time.
    Scheduled,
    /// Handed to the delivery queue.
    Queued,
    Sent,
    /// Given up: the provider refused it, or there was nowhere to send it.
    Failed,
    /// Withdrawn before it left (a reminder whose visit moved or ended).
    Cancelled,
}

impl NoticeStatus {
    pub const ALL: [NoticeStatus; 5] = [
        NoticeStatus::Scheduled,
        NoticeStatus::Queued,
        NoticeStatus::Sent,
        NoticeStatus::Failed,
        NoticeStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeStatus::Scheduled => "scheduled",
            NoticeStatus::Queued => "queued",
            NoticeStatus::Sent => "sent",
            NoticeStatus::Failed => "failed",
            NoticeStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A message in the outbox, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: String,
    pub booking_id: String,
    /// The recipient; their number or address is read when sending.
    pub person: crate::PersonId,
    pub kind: NoticeKind,
    pub channel: Channel,
    pub status: NoticeStatus,
    /// When it should leave: at once, or a reminder's time.
    pub due_at: Timestamp,
    pub attempts: i64,
    /// Where it went and what it said, once sent.
    pub recipient: Option<String>,
    pub body: Option<String>,
    pub provider: Option<String>,
    pub provider_id: Option<String>,
    /// The provider's delivery report, e.g. `delivered` or `failed`.
    pub delivery: Option<String>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

/// What happened to a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingChange {
    Created,
    Moved,
    Status {
        from: BookingStatus,
        to: BookingStatus,
    },
}

/// What to do about the booking's reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderPlan {
    /// Leave any reminder as it is.
    Keep,
    /// Withdraw any pending reminder and schedule one at this time.
    Schedule(Timestamp),
    /// Withdraw any pending reminder.
    Withdraw,
}

/// The messages a change causes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticePlan {
    /// Sent at once, on every channel the patient can be reached by.
    pub now: Option<NoticeKind>,
    pub reminder: ReminderPlan,
}

/// The reminder for a confirmed booking, unless its time has already passed.
fn reminder_for(booking: &Booking, lead: Duration, now: Timestamp) -> ReminderPlan {
    let due = booking.starts_at.minus(lead);
    if booking.status == BookingStatus::Confirmed && due > now {
        ReminderPlan::Schedule(due)
    } else {
        ReminderPlan::Withdraw
    }
}

/// The messages `change` causes for `booking` (as it is after the change),
/// with reminders `lead` before the start.
pub fn plan(
    change: BookingChange,
    booking: &Booking,
    lead: Duration,
    now: Timestamp,
) -> NoticePlan {
    match change {
        BookingChange::Created => NoticePlan {
            now: Some(NoticeKind::Invited),
            reminder: match reminder_for(booking, lead, now) {
                // Nothing to withdraw on a new booking.
                ReminderPlan::Withdraw => ReminderPlan::Keep,
                r => r,
            },
        },
        BookingChange::Moved => NoticePlan {
            now: Some(NoticeKind::Moved),
            reminder: reminder_for(booking, lead, now),
        },
        BookingChange::Status { to, .. } => match to {
            BookingStatus::Confirmed => NoticePlan {
                now: None,
                reminder: reminder_for(booking, lead, now),
            },
            BookingStatus::Cancelled => NoticePlan {
                now: Some(NoticeKind::Cancelled),
                reminder: ReminderPlan::Withdraw,
            },
            BookingStatus::Unconfirmed
            | BookingStatus::InProgress
            | BookingStatus::Finished
            | BookingStatus::NoShow => NoticePlan {
                now: None,
                reminder: ReminderPlan::Withdraw,
            },
        },
    }
}

/// Everything an SMS or e-mail may say. There is deliberately no field for
/// the visit type, the reason for the visit or the clinician's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsFacts<'a> {
    pub kind: NoticeKind,
    /// The tenant's product name, e.g. "Vårdmöte Norr".
    pub product: &'a str,
    pub starts_at: Timestamp,
    /// The portal's address, where the patient logs in.
    pub link: &'a str,
}

/// How a message is worded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wording {
    /// The text of its kind: an invitation asks the patient to log in, see
    /// and confirm the visit.
    Kind(NoticeKind),
    /// An invitation to a visit that had begun by the time it was written:
    /// "Boka nu", booked to start at once and confirmed. It says the visit
    /// is now and links to it; there is nothing to confirm.
    StartsNow,
}

/// The wording of a message of `kind`, about a visit starting at
/// `starts_at`, written at `written_at`.
pub fn wording(kind: NoticeKind, starts_at: Timestamp, written_at: Timestamp) -> Wording {
    match kind {
        NoticeKind::Invited if starts_at <= written_at => Wording::StartsNow,
        kind => Wording::Kind(kind),
    }
}

/// The placeholders of a message template: `{product}`, `{date}`,
/// `{time}` (Stockholm time) and `{link}`.
pub fn message_args(f: &SmsFacts<'_>) -> [(&'static str, String); 4] {
    let local = f.starts_at.to_stockholm();
    [
        ("product", f.product.to_owned()),
        ("date", local.date().strftime("%Y-%m-%d").to_string()),
        ("time", local.time().strftime("%H:%M").to_string()),
        ("link", f.link.to_owned()),
    ]
}

/// The calendar entry sent with an e-mail (RFC 5545): the visit's time, the
/// tenant's product name and the link; nothing about why the visit is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarEntry<'a> {
    /// Stable across changes, so a calendar updates the entry it has.
    pub uid: &'a str,
    /// Grows with every change (RFC 5545 SEQUENCE).
    pub sequence: u32,
    pub cancelled: bool,
    pub summary: &'a str,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub link: &'a str,
    /// `mailto:` address of the organiser (the sender).
    pub organizer: &'a str,
    pub stamp: Timestamp,
}

/// `19970714T173000Z`
fn ics_time(t: Timestamp) -> String {
    let ts = jiff::Timestamp::from_millisecond(t.0).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    ts.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// Escapes a TEXT value (RFC 5545 3.3.11).
fn ics_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets, never inside a character (3.1).
fn ics_fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

/// The entry as an iCalendar object: `METHOD:REQUEST`, or `METHOD:CANCEL`
/// for a cancelled visit.
pub fn ics(e: &CalendarEntry<'_>) -> String {
    let method = if e.cancelled { "CANCEL" } else { "REQUEST" };
    let status = if e.cancelled {
        "CANCELLED"
    } else {
        "CONFIRMED"
    };
    let lines = [
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//Tillit//Tillit//SV".to_owned(),
        format!("METHOD:{method}"),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}", ics_text(e.uid)),
        format!("SEQUENCE:{}", e.sequence),
        format!("DTSTAMP:{}", ics_time(e.stamp)),
        format!("DTSTART:{}", ics_time(e.starts_at)),
        format!("DTEND:{}", ics_time(e.ends_at)),
        format!("SUMMARY:{}", ics_text(e.summary)),
        format!("DESCRIPTION:{}", ics_text(e.link)),
        format!("URL:{}", e.link),
        format!("ORGANIZER:mailto:{}", e.organizer),
        format!("STATUS:{status}"),
        "END:VEVENT".to_owned(),
        "END:VCALENDAR".to_owned(),
    ];
    let mut out = String::new();
    for l in &lines {
        ics_fold(l, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PersonId;
    use crate::booking::VisitKind;

    const MIN: u64 = 60_000;

    fn booking(status: BookingStatus, starts_at: Timestamp) -> Booking {
        Booking {
            id: "b".into(),
            clinician: PersonId::new("c"),
            patient: PersonId::new("p"),
            visit_type_id: "v".into(),
            title: "Samtal".into(),
            minutes: 30,
            kind: VisitKind::Video,
            starts_at,
            status,
            message: String::new(),
        }
    }

    const LEAD: Duration = Duration::from_secs(30 * 60);

    #[test]
    fn an_unconfirmed_booking_is_announced_but_not_reminded() {
        let now = Timestamp(0);
        let b = booking(BookingStatus::Unconfirmed, Timestamp(24 * 60 * MIN as i64));
        let p = plan(BookingChange::Created, &b, LEAD, now);
        assert_eq!(p.now, Some(NoticeKind::Invited));
        assert_eq!(p.reminder, ReminderPlan::Keep);
    }

    #[test]
    fn confirming_schedules_the_reminder_lead_before_the_start() {
        let now = Timestamp(0);
        let start = Timestamp(24 * 60 * MIN as i64);
        let b = booking(BookingStatus::Confirmed, start);
        let p = plan(
            BookingChange::Status {
                from: BookingStatus::Unconfirmed,
                to: BookingStatus::Confirmed,
            },
            &b,
            LEAD,
            now,
        );
        assert_eq!(p.now, None);
        assert_eq!(p.reminder, ReminderPlan::Schedule(start.minus(LEAD)));
    }

    #[test]
    fn a_reminder_already_due_is_not_scheduled() {
        // "Boka nu": confirmed, starting now.
        let now = Timestamp(1_000 * MIN as i64);
        let b = booking(BookingStatus::Confirmed, now);
        let p = plan(BookingChange::Created, &b, LEAD, now);
        assert_eq!(p.now, Some(NoticeKind::Invited));
        assert_eq!(p.reminder, ReminderPlan::Keep);
        let soon = booking(BookingStatus::Confirmed, now.plus(LEAD / 2));
        assert_eq!(
            plan(BookingChange::Moved, &soon, LEAD, now).reminder,
            ReminderPlan::Withdraw
        );
    }

    #[test]
    fn a_move_reschedules_and_a_cancellation_withdraws() {
        let now = Timestamp(0);
        let start = Timestamp(48 * 60 * MIN as i64);
        let b = booking(BookingStatus::Confirmed, start);
        let moved = plan(BookingChange::Moved, &b, LEAD, now);
        assert_eq!(moved.now, Some(NoticeKind::Moved));
        assert_eq!(moved.reminder, ReminderPlan::Schedule(start.minus(LEAD)));
        // An unconfirmed booking that moves has no reminder to keep.
        let u = booking(BookingStatus::Unconfirmed, start);
        assert_eq!(
            plan(BookingChange::Moved, &u, LEAD, now).reminder,
            ReminderPlan::Withdraw
        );
        let cancelled = booking(BookingStatus::Cancelled, start);
        let c = plan(
            BookingChange::Status {
                from: BookingStatus::Confirmed,
                to: BookingStatus::Cancelled,
            },
            &cancelled,
            LEAD,
            now,
        );
        assert_eq!(c.now, Some(NoticeKind::Cancelled));
        assert_eq!(c.reminder, ReminderPlan::Withdraw);
    }

    #[test]
    fn starting_or_ending_a_visit_withdraws_the_reminder_silently() {
        let b = booking(BookingStatus::InProgress, Timestamp(0));
        for to in [
            BookingStatus::InProgress,
            BookingStatus::Finished,
            BookingStatus::NoShow,
        ] {
            let p = plan(
                BookingChange::Status {
                    from: BookingStatus::Confirmed,
                    to,
                },
                &b,
                LEAD,
                Timestamp(0),
            );
            assert_eq!(p.now, None);
            assert_eq!(p.reminder, ReminderPlan::Withdraw);
        }
    }

    #[test]
    fn calendar_entries_are_valid_icalendar() {
        let start = Timestamp::from_stockholm("2026-12-01", "09:30").expect("valid");
        let e = CalendarEntry {
            uid: "b1@demo.example.se",
            sequence: 2,
            cancelled: false,
            summary: "Besök hos Demovården; video, länk",
            starts_at: start,
            ends_at: start.plus(Duration::from_secs(1800)),
            link: "https://demo.example.se/",
            organizer: "no-reply@demo.example.se",
            stamp: start,
        };
        let text = ics(&e);
        // 09:30 in Stockholm in winter is 08:30 UTC.
        assert!(text.contains("\r\nDTSTART:20261201T083000Z\r\n"), "{text}");
        assert!(text.contains("\r\nDTEND:20261201T090000Z\r\n"), "{text}");
        assert!(text.contains("SUMMARY:Besök hos Demovården\\; video\\, länk\r\n"));
        assert!(text.contains("METHOD:REQUEST") && text.contains("SEQUENCE:2"));
        for line in text.split("\r\n") {
            assert!(line.len() <= 75, "line longer than 75 octets: {line}");
        }
        let cancelled = ics(&CalendarEntry {
            cancelled: true,
            summary: &"å".repeat(60),
            ..e
        });
        assert!(cancelled.contains("METHOD:CANCEL") && cancelled.contains("STATUS:CANCELLED"));
        // Folded lines start with a space and unfold to the original.
        let unfolded = cancelled.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("SUMMARY:{}", "å".repeat(60))));
        for line in cancelled.split("\r\n") {
            assert!(line.len() <= 75);
        }
    }

    #[test]
    fn message_args_are_in_stockholm_time() {
        // 2026-06-01 12:00 UTC is 14:00 in Stockholm (summer time).
        let t = Timestamp::from_stockholm("2026-06-01", "14:00").expect("valid");
        let args = message_args(&SmsFacts {
            kind: NoticeKind::Invited,
            product: "Demovården",
            starts_at: t,
            link: "https://demo.example.se/",
        });
        assert_eq!(args[1].1, "2026-06-01");
        assert_eq!(args[2].1, "14:00");
    }

    #[test]
    fn an_invitation_to_a_visit_that_starts_at_once_says_it_is_now() {
        let t = Timestamp(1_800_000_000_000);
        // "Boka nu": the visit starts when the invitation is written.
        assert_eq!(wording(NoticeKind::Invited, t, t), Wording::StartsNow);
        // A visit booked ahead is invited to be confirmed.
        assert_eq!(
            wording(NoticeKind::Invited, t.plus(Duration::from_secs(60)), t),
            Wording::Kind(NoticeKind::Invited)
        );
        // Other messages keep their own wording, whenever they are written.
        for kind in [
            NoticeKind::Moved,
            NoticeKind::Cancelled,
            NoticeKind::Reminder,
        ] {
            assert_eq!(wording(kind, t, t), Wording::Kind(kind));
        }
    }
}
