//! Sending what the outbox holds: SMS through 46elks, e-mail through SMTP
//! with a calendar entry, or, in development, nowhere (the outbox page shows
//! what would have left). Also the reminder tick. (The delivery-report
//! webhook and the development outbox page are routes: `routes::messages`.)
//!
//! The store decides *what* is sent and keeps it durable
//! (`tillit_store::outbox`); this module decides *how*. A message's text is
//! rendered here from the booking's time, the tenant's product name and a
//! link, never from the visit type, the reason or the clinician's message.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use tillit_domain::notify::{
    CalendarEntry, Channel, NoticeKind, NoticeStatus, Notification, SmsFacts, Wording,
};
use tillit_domain::{TenantId, Timestamp};
use tillit_store::outbox::{Delivery, DeliveryError, WorkerSettings};

use crate::state::AppState;
use crate::tenants::{SmsProvider, Tenant};

/// After this many attempts in all, a message is given up as failed.
const MAX_TOTAL_ATTEMPTS: i64 = 20;

/// Clients for the providers, shared by all deliveries.
#[derive(Debug, Clone)]
pub struct Senders {
    http: reqwest::Client,
    smtp: Option<lettre::AsyncSmtpTransport<lettre::Tokio1Executor>>,
}

impl Senders {
    pub fn new(config: &crate::config::Config) -> Result<Self, String> {
        let timeout = config.outbox.send_timeout.0;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let smtp = if config.mail.smtp_url.is_empty() {
            None
        } else {
            Some(
                lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(
                    &config.mail.smtp_url,
                )
                .map_err(|e| format!("mail.smtp_url: {e}"))?
                .timeout(Some(timeout))
                .build(),
            )
        };
        Ok(Self { http, smtp })
    }
}

/// Where patients of `tenant` reach the portal.
pub fn portal_origin(state: &AppState, tenant: &Tenant) -> String {
    let host = tenant.hosts.first().map_or("localhost", String::as_str);
    if state.config.server.behind_tls {
        format!("https://{host}")
    } else {
        format!("http://{host}:{}", state.public_port())
    }
}

/// The token in a delivery-report URL: only 46elks, which got the URL from
/// us, can report on the message.
pub(crate) fn report_token(secret: &[u8], tenant: &TenantId, id: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"46elks-report\0");
    mac.update(tenant.as_str().as_bytes());
    mac.update(b"\0");
    mac.update(id.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What one attempt at sending came to.
enum Sent {
    /// Left; the provider's id for it, if it gave one.
    Ok {
        recipient: String,
        provider: &'static str,
        provider_id: Option<String>,
    },
    /// Will never succeed (refused number, no address): give up.
    Refused(String),
    /// May succeed later.
    Retry(String),
}

/// Delivers one queued message. `Err` means "try again later".
pub async fn deliver(state: AppState, job: Delivery) -> Result<(), DeliveryError> {
    let tenant_id = match TenantId::parse(&job.tenant) {
        Ok(t) => t,
        Err(_) => return Ok(()),
    };
    let Some(tenant) = state.tenants.by_id(&tenant_id) else {
        tracing::warn!(tenant = %job.tenant, "outbox: message for an unknown tenant dropped");
        return Ok(());
    };
    let store = state.store.tenant(tenant_id.clone());
    let transient = |e: tillit_store::StoreError| DeliveryError::Transient(e.to_string());
    let Some(n) = store
        .notification(&job.notification)
        .await
        .map_err(transient)?
    else {
        return Ok(());
    };
    // Sent, given up or withdrawn already: this run sends nothing.
    if n.status != NoticeStatus::Queued {
        return Ok(());
    }
    let Some(booking) = store.booking(&n.booking_id).await.map_err(transient)? else {
        return Ok(());
    };
    let body = render_sms(&state, tenant, n.kind, &booking, n.created_at);
    let outcome = send(&state, tenant, &n, &booking, &body).await;
    let now = state.clock.now();
    match outcome {
        Sent::Ok {
            recipient,
            provider,
            provider_id,
        } => {
            let marked = store
                .mark_sent(
                    &n.id,
                    &recipient,
                    &body,
                    provider,
                    provider_id.as_deref(),
                    now,
                )
                .await
                .map_err(transient)?;
            if !marked {
                // Withdrawn while it was being sent: it left all the same.
                tracing::info!(tenant = %tenant.id, notification = %n.id, "message withdrawn while being sent");
            }
            metrics::counter!("tillit_messages_sent_total", "channel" => n.channel.as_str(), "kind" => n.kind.as_str()).increment(1);
            if n.kind == NoticeKind::Reminder {
                let late = now.since(n.due_at);
                metrics::histogram!("tillit_reminder_lateness_seconds").record(late.as_secs_f64());
            }
            tracing::info!(tenant = %tenant.id, notification = %n.id, channel = n.channel.as_str(), kind = n.kind.as_str(), "message sent");
            Ok(())
        }
        Sent::Refused(why) => {
            tracing::warn!(tenant = %tenant.id, notification = %n.id, reason = %why, "message refused; giving up");
            store
                .mark_attempt_failed(&n.id, &why, true)
                .await
                .map_err(transient)?;
            Ok(())
        }
        Sent::Retry(why) => {
            let give_up = n.attempts + 1 >= MAX_TOTAL_ATTEMPTS;
            tracing::warn!(tenant = %tenant.id, notification = %n.id, reason = %why, give_up, "message not sent");
            store
                .mark_attempt_failed(&n.id, &why, give_up)
                .await
                .map_err(transient)?;
            if give_up {
                Ok(())
            } else {
                Err(DeliveryError::Transient(why))
            }
        }
    }
}

fn facts<'a>(
    tenant: &'a Tenant,
    kind: NoticeKind,
    booking: &tillit_domain::booking::Booking,
    link: &'a str,
) -> SmsFacts<'a> {
    SmsFacts {
        kind,
        product: tenant
            .brand
            .product_name
            .as_deref()
            .unwrap_or(&tenant.display_name),
        starts_at: booking.starts_at,
        link,
    }
}

/// The address of `booking`'s page on the tenant's portal.
fn visit_link(
    state: &AppState,
    tenant: &Tenant,
    booking: &tillit_domain::booking::Booking,
) -> String {
    visit_url(state, tenant, &booking.id)
}

/// The visit page of booking `id`: the one link every participant gets,
/// and the one an EHR sees as the Appointment's virtual service.
pub fn visit_url(state: &AppState, tenant: &Tenant, id: &str) -> String {
    format!("{}/visits/{id}", portal_origin(state, tenant))
}

/// The catalog keys of a message's SMS text and e-mail subject.
fn message_keys(wording: Wording) -> (String, String) {
    match wording {
        Wording::Kind(kind) => (
            format!("notify.sms.{}", kind.as_str()),
            format!("notify.email.subject.{}", kind.as_str()),
        ),
        Wording::StartsNow => ("notify_now.sms".into(), "notify_now.subject".into()),
    }
}

/// The text of an SMS (also the body of the e-mail) of `kind` about
/// `booking`, written at `written_at`. Every message links to the visit's
/// own page, which the login keeps through to the end: the person lands
/// where they can confirm, wait or join.
pub fn render_sms(
    state: &AppState,
    tenant: &Tenant,
    kind: NoticeKind,
    booking: &tillit_domain::booking::Booking,
    written_at: Timestamp,
) -> String {
    let wording = tillit_domain::notify::wording(kind, booking.starts_at, written_at);
    let link = visit_link(state, tenant, booking);
    let args = tillit_domain::notify::message_args(&facts(tenant, kind, booking, &link));
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    state
        .catalogs
        .format(tenant.default_language, &message_keys(wording).0, &args)
}

async fn send(
    state: &AppState,
    tenant: &Tenant,
    n: &Notification,
    booking: &tillit_domain::booking::Booking,
    body: &str,
) -> Sent {
    let store = state.store.tenant(tenant.id.clone());
    let (phone, email) = match store.contact_of(&n.person).await {
        Ok(c) => c,
        Err(e) => return Sent::Retry(e.to_string()),
    };
    match n.channel {
        Channel::Sms => {
            let Some(phone) = phone else {
                return Sent::Refused("no mobile number".into());
            };
            match &tenant.sms {
                SmsProvider::Outbox => Sent::Ok {
                    recipient: phone,
                    provider: "outbox",
                    provider_id: None,
                },
                SmsProvider::Elks46 {
                    api_url,
                    username,
                    password,
                } => {
                    let report = format!(
                        "{}/hooks/46elks/{}/{}",
                        portal_origin(state, tenant),
                        n.id,
                        report_token(&state.secret, &tenant.id, &n.id)
                    );
                    let http = &state.senders.http;
                    elks46_send(
                        http,
                        api_url,
                        username,
                        password,
                        &tenant.booking.sms_sender,
                        &phone,
                        body,
                        &report,
                    )
                    .await
                }
            }
        }
        Channel::Email => {
            let Some(email) = email else {
                return Sent::Refused("no e-mail address".into());
            };
            match &state.senders.smtp {
                None => Sent::Ok {
                    recipient: email,
                    provider: "outbox",
                    provider_id: None,
                },
                Some(smtp) => send_email(state, smtp, tenant, n, booking, &email, body).await,
            }
        }
    }
}

/// 46elks' reply to a sent SMS.
#[derive(Debug, Deserialize)]
struct ElksReply {
    id: String,
}

/// Sends one SMS through 46elks: `POST {api}/sms`, form-encoded, HTTP Basic
/// auth, with `whendelivered` pointing at our delivery-report webhook.
#[allow(clippy::too_many_arguments)]
async fn elks46_send(
    http: &reqwest::Client,
    api_url: &str,
    username: &str,
    password: &str,
    from: &str,
    to: &str,
    message: &str,
    report_url: &str,
) -> Sent {
    let res = http
        .post(format!("{api_url}/sms"))
        .basic_auth(username, Some(password))
        .form(&[
            ("from", from),
            ("to", to),
            ("message", message),
            ("whendelivered", report_url),
        ])
        .send()
        .await;
    let res = match res {
        Ok(r) => r,
        Err(e) => return Sent::Retry(format!("46elks unreachable: {e}")),
    };
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    if status.is_success() {
        return match serde_json::from_str::<ElksReply>(&text) {
            Ok(reply) => Sent::Ok {
                recipient: to.to_owned(),
                provider: "46elks",
                provider_id: Some(reply.id),
            },
            // It may have been sent; sending again could double it.
            Err(_) => Sent::Ok {
                recipient: to.to_owned(),
                provider: "46elks",
                provider_id: None,
            },
        };
    }
    // 46elks answers errors in plain text, e.g. "Invalid to number".
    let why = format!("46elks {}: {}", status.as_u16(), text.trim());
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        Sent::Retry(why)
    } else if status == reqwest::StatusCode::UNAUTHORIZED
        || status == reqwest::StatusCode::FORBIDDEN
    {
        // Our credentials are wrong: retrying may succeed once they are fixed.
        Sent::Retry(why)
    } else {
        Sent::Refused(why)
    }
}

async fn send_email(
    state: &AppState,
    smtp: &lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    tenant: &Tenant,
    n: &Notification,
    booking: &tillit_domain::booking::Booking,
    to: &str,
    body: &str,
) -> Sent {
    use lettre::AsyncTransport;
    use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType};

    let product = tenant
        .brand
        .product_name
        .as_deref()
        .unwrap_or(&tenant.display_name);
    let Ok(address) = state.config.mail.from.parse::<lettre::Address>() else {
        return Sent::Retry("mail.from is not an e-mail address".into());
    };
    let from = Mailbox::new(Some(product.to_owned()), address.clone());
    let Ok(to_box) = to.parse::<Mailbox>() else {
        return Sent::Refused("the e-mail address is not valid".into());
    };
    let lang = tenant.default_language;
    let wording = tillit_domain::notify::wording(n.kind, booking.starts_at, n.created_at);
    let subject = state
        .catalogs
        .format(lang, &message_keys(wording).1, &[("product", product)]);
    let host = tenant.hosts.first().map_or("localhost", String::as_str);
    let uid = format!("{}@{host}", booking.id);
    let link = visit_link(state, tenant, booking);
    let summary = state
        .catalogs
        .format(lang, "notify.email.summary", &[("product", product)]);
    let ics = tillit_domain::notify::ics(&CalendarEntry {
        uid: &uid,
        // Seconds since the epoch of the last change: grows with each change.
        sequence: u32::try_from(state.clock.now().0 / 1000).unwrap_or(u32::MAX),
        cancelled: n.kind == NoticeKind::Cancelled,
        summary: &summary,
        starts_at: booking.starts_at,
        ends_at: booking.ends_at(),
        link: &link,
        organizer: &state.config.mail.from,
        stamp: state.clock.now(),
    });
    let method = if n.kind == NoticeKind::Cancelled {
        "CANCEL"
    } else {
        "REQUEST"
    };
    let calendar_type =
        ContentType::parse(&format!("text/calendar; charset=utf-8; method={method}"))
            .unwrap_or(ContentType::TEXT_PLAIN);
    let message = lettre::Message::builder()
        .from(from)
        .to(to_box)
        .subject(subject)
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(body.to_owned()))
                .singlepart(Attachment::new("besok.ics".to_owned()).body(ics, calendar_type)),
        );
    let message = match message {
        Ok(m) => m,
        Err(e) => return Sent::Refused(format!("cannot build the e-mail: {e}")),
    };
    match smtp.send(message).await {
        Ok(reply) => Sent::Ok {
            recipient: to.to_owned(),
            provider: "smtp",
            provider_id: reply.message().next().map(str::to_owned),
        },
        Err(e) if e.is_permanent() => Sent::Refused(format!("SMTP refused: {e}")),
        Err(e) => Sent::Retry(format!("SMTP: {e}")),
    }
}

/// Hands due reminders to delivery every `tick`, for every tenant.
pub fn spawn_reminder_tick(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(state.config.outbox.reminder_tick.0);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            queue_due_reminders(&state).await;
        }
    })
}

/// One pass of the reminder tick: every tenant's due reminders, in batches.
pub async fn queue_due_reminders(state: &AppState) -> usize {
    let now = state.clock.now();
    let mut total = 0;
    for t in state.tenants.all() {
        let store = state.store.tenant(t.id.clone());
        loop {
            match store.queue_due_reminders(now, 500).await {
                Ok(0) => break,
                Ok(n) => {
                    total += n;
                    if n < 500 {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(tenant = %t.id, error = %e, "could not queue reminders");
                    break;
                }
            }
        }
    }
    total
}

/// Runs the delivery worker until `shutdown`.
pub fn spawn_worker(
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let o = &state.config.outbox;
    let settings = WorkerSettings {
        heartbeat: o.heartbeat.0,
        poll: Duration::from_secs(1),
        retries: o.retries,
        backoff_min: o.backoff_min.0,
        backoff_max: o.backoff_max.0,
    };
    tokio::spawn(async move {
        let handler_state = state.clone();
        let handler = move |job: Delivery| deliver(handler_state.clone(), job);
        if let Err(e) = state.store.run_outbox(settings, handler, shutdown).await {
            tracing::error!(error = %e, "the outbox worker stopped");
        }
    })
}
