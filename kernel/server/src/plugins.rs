//! Plugins in the kernel: the host started with the kernel, each tenant's
//! enabled plugins granted from its file, the views they add to the room's
//! side panel and the profile page, events, and live messages. (Their
//! routes, `/plugins/<id>/…` and `/features/<id>`, are in
//! `routes::plugins`.)
//!
//! A tenant that has not enabled a plugin sees no trace of it: its routes
//! answer 404 and it fills no slot.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use tillit_domain::booking::Booking;
use tillit_domain::events::BookingEvent;
use tillit_domain::{Clock, Person, Role};
use tillit_plugins::{
    CallContext, Caller, Capability, Event, Grant, HostConfig, Participant, PluginHost, Slot,
    Visit, VisitStatus,
};
use tillit_store::Store;

use crate::http::error::AppError;
use crate::http::session::Ctx;
use crate::state::AppState;
use crate::tenants::Tenant;

/// The header the room's script sends with a plugin request made from a
/// visit's room, naming the visit (checked: the caller must take part).
pub const VISIT_HEADER: &str = "x-tillit-visit";

/// Starts the host, loads the packaged plugins in `dir` and enables them
/// for the tenants that list them under `features`, with the grants of
/// their files. A plugin that is refused (bad hash, old API, a grant that
/// does not cover it) is logged with the file and key to fix; the kernel
/// starts anyway, without it.
pub fn start_host(
    dir: &Path,
    cache_dir: &Path,
    secret: &[u8],
    store: Store,
    clock: Arc<dyn Clock>,
    tenants: &[Tenant],
) -> Result<Arc<PluginHost>, String> {
    // Person references get a key of their own, derived from the kernel's.
    let key = {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret)
            .map_err(|e| format!("plugin reference key: {e}"))?;
        mac.update(b"tillit-plugin-refs");
        mac.finalize().into_bytes().to_vec()
    };
    let mut config = HostConfig::new(
        tillit_plugins::refs::RefKey::new(key).map_err(|e| format!("plugin reference key: {e}"))?,
    );
    config.cache_dir = Some(cache_dir.to_owned());
    let storage = Arc::new(tillit_plugins::sql::SqlStorage::new(store));
    let host = PluginHost::new(config, storage, clock).map_err(|e| e.to_string())?;
    if dir.is_dir() {
        // One load at a time per process: a kernel has one host, but a
        // test process starts many at once, and with a cold compilation
        // cache each would compile every plugin in parallel; in turn, the
        // first compiles and the others find its result in the cache.
        static LOADING: Mutex<()> = Mutex::new(());
        let report = {
            let _one = LOADING.lock().unwrap_or_else(|p| p.into_inner());
            host.load_dir(dir)
        };
        for info in &report.loaded {
            tracing::info!(
                plugin = info.id(),
                version = info.version(),
                "plugin loaded"
            );
        }
        for refused in &report.failed {
            tracing::error!(error = %refused, "plugin refused");
        }
    } else {
        tracing::warn!(dir = %dir.display(), "no plugins directory: `cargo xtask plugins` builds them");
    }
    let mut grants = Vec::new();
    for t in tenants {
        for feature in &t.features {
            if host.plugin(feature).is_none() {
                tracing::warn!(tenant = %t.id, feature, "the tenant enables a feature whose plugin is not installed");
                continue;
            }
            let configured = t.plugins.get(feature).cloned().unwrap_or_default();
            let capabilities: BTreeSet<Capability> = configured
                .capabilities
                .iter()
                .filter_map(|c| Capability::from_interface(c))
                .collect();
            grants.push((
                t.id.clone(),
                feature.clone(),
                Grant {
                    capabilities,
                    config: configured.config,
                    quotas: None,
                },
            ));
        }
    }
    for refused in host.enable_all(grants) {
        tracing::error!(error = %refused, "plugin not enabled");
    }
    Ok(Arc::new(host))
}

/// The visit as `me` may see it: everyone booked into it, patients shown
/// to other patients by initials.
pub async fn visit_for(
    state: &AppState,
    ctx: &Ctx,
    me: &Person,
    booking: &Booking,
) -> Result<(Visit, Vec<Person>), AppError> {
    let store = state.store.tenant(ctx.tenant.id.clone());
    let mut ids = vec![booking.clinician.clone(), booking.patient.clone()];
    // A group visit's patients who have not declined.
    for (id, answer) in store.group_patients(&booking.id).await? {
        if answer != tillit_domain::group::Attendance::Declined && !ids.contains(&id) {
            ids.push(id);
        }
    }
    for p in store.participants_of(&booking.id).await? {
        if !ids.contains(&p.id) {
            ids.push(p.id);
        }
    }
    let mut people = Vec::new();
    for id in &ids {
        if let Some(p) = store.person(id).await? {
            people.push(p);
        }
    }
    let participants = people
        .iter()
        .map(|p| Participant {
            person: p.id.clone(),
            role: p.role.into(),
            display_name: if me.role == Role::Patient && p.role == Role::Patient && p.id != me.id {
                p.initials()
            } else {
                p.full_name()
            },
        })
        .collect();
    Ok((
        Visit {
            id: booking.id.clone(),
            status: status_of(booking.status),
            starts_at: booking.starts_at,
            ends_at: booking.ends_at(),
            participants,
        },
        people,
    ))
}

fn status_of(status: tillit_domain::booking::BookingStatus) -> VisitStatus {
    use tillit_domain::booking::BookingStatus as S;
    match status {
        S::InProgress => VisitStatus::InProgress,
        S::Finished => VisitStatus::Finished,
        S::Cancelled => VisitStatus::Cancelled,
        S::Unconfirmed | S::Confirmed | S::NoShow => VisitStatus::Booked,
    }
}

pub(crate) fn caller(ctx: &Ctx, me: &Person) -> Caller {
    Caller {
        person: me.id.clone(),
        role: me.role.into(),
        display_name: me.full_name(),
        language: ctx.lang.code().to_owned(),
    }
}

/// A plugin's tab in a visit's room, as the room template shows it.
#[derive(Debug, serde::Serialize)]
pub struct Panel {
    pub id: String,
    pub title: String,
    /// Rendered by the kernel from the plugin's template, with escaping.
    pub html: String,
}

/// The side-panel tabs of a visit's room: each enabled plugin's
/// `visit-panel` view, rendered with the kernel's escaping. A plugin that
/// fails shows nothing (and is logged); the room works regardless.
pub async fn room_panels(
    state: &AppState,
    ctx: &Ctx,
    me: &Person,
    booking: &Booking,
) -> Result<Vec<Panel>, AppError> {
    let (visit, _) = visit_for(state, ctx, me, booking).await?;
    let call = CallContext {
        tenant: ctx.tenant.id.clone(),
        caller: Some(caller(ctx, me)),
        visit: Some(visit),
    };
    Ok(render_slot_html(state, ctx, &call, &Slot::VisitPanel)
        .await
        .into_iter()
        .map(|(id, title, html)| Panel { id, title, html })
        .collect())
}

/// Tells the tenant's plugins that subscribe to it that a person joined or
/// left `booking`'s room, in the background: a slow or failing plugin never
/// holds up the person. Presence is live, not a change to anything stored;
/// booking changes reach plugins through the outbox instead
/// ([`spawn_event_delivery`]).
pub fn dispatch_presence(
    state: &AppState,
    tenant: &tillit_domain::TenantId,
    booking: &Booking,
    event: Event,
) {
    let state = state.clone();
    let tenant = tenant.clone();
    let visit = Visit {
        id: booking.id.clone(),
        status: status_of(booking.status),
        starts_at: booking.starts_at,
        ends_at: booking.ends_at(),
        participants: Vec::new(),
    };
    tokio::spawn(async move { deliver(&state, tenant, visit, &event).await });
}

/// The host returns a plugin's failures without logging them: this is the
/// one place an event's is logged.
async fn deliver(state: &AppState, tenant: tillit_domain::TenantId, visit: Visit, event: &Event) {
    let ctx = CallContext {
        tenant,
        caller: None,
        visit: Some(visit),
    };
    for (plugin, result) in state.plugins.dispatch_event(&ctx, event).await {
        if let Err(e) = result {
            tracing::warn!(tenant = %ctx.tenant, plugin, error = %e, "plugin event failed");
        }
    }
}

/// The plugin API's event for a booking change, if API 0.1.0 has one
/// (it has no "confirmed" or "moved"; those are recorded and marked
/// delivered, for a later API version to carry).
fn api_event(kind: BookingEvent) -> Option<Event> {
    match kind {
        BookingEvent::Created => Some(Event::BookingCreated),
        BookingEvent::Cancelled => Some(Event::BookingCancelled),
        BookingEvent::Started => Some(Event::VisitStarted),
        BookingEvent::Ended => Some(Event::VisitEnded),
        BookingEvent::Confirmed | BookingEvent::Moved => None,
    }
}

/// Hands the plugin events that booking changes recorded (in the change's
/// own transaction) to the tenants' plugins, oldest first, and marks each
/// delivered. Returns how many were delivered. An event whose delivery was
/// cut short by a crash is delivered again after the restart: plugins hear
/// each change at least once.
pub async fn deliver_recorded_events(state: &AppState) -> usize {
    let mut delivered = 0;
    for t in state.tenants.all() {
        let store = state.store.tenant(t.id.clone());
        let pending = match store.pending_plugin_events(100).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(tenant = %t.id, error = %e, "plugin events could not be read");
                continue;
            }
        };
        for e in pending {
            if let Some(event) = api_event(e.kind) {
                let visit = Visit {
                    id: e.booking_id.clone(),
                    status: status_of(e.visit_status),
                    starts_at: e.starts_at,
                    ends_at: e.ends_at,
                    participants: Vec::new(),
                };
                deliver(state, t.id.clone(), visit, &event).await;
            }
            match store
                .mark_plugin_event_delivered(&e.id, state.clock.now())
                .await
            {
                Ok(_) => delivered += 1,
                Err(err) => {
                    // Delivered again next round, which plugins allow for.
                    tracing::warn!(tenant = %t.id, error = %err, "plugin event not marked delivered");
                    break;
                }
            }
        }
    }
    delivered
}

/// The worker that delivers recorded plugin events: woken by every change
/// that records one, and every second besides (events a crashed process
/// left behind, changes made by another process).
pub fn spawn_event_delivery(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(1),
                state.store.plugin_events_recorded(),
            )
            .await;
            deliver_recorded_events(&state).await;
        }
    })
}

/// Development: picks up rebuilt plugins (`cargo xtask plugins`) without a
/// restart. Calls in flight finish on the version they started with; a
/// plugin that no longer loads keeps its old version, and the log says why.
pub fn spawn_reload(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let host = Arc::clone(&state.plugins);
            let Ok(report) = tokio::task::spawn_blocking(move || host.reload()).await else {
                continue;
            };
            for info in &report.loaded {
                tracing::info!(
                    plugin = info.id(),
                    version = info.version(),
                    "plugin reloaded"
                );
            }
            for failed in &report.failed {
                tracing::error!(error = %failed, "plugin not reloaded; the old version stays");
            }
        }
    })
}

/// Renders the views of every enabled plugin that fills `slot` (a failing
/// plugin is logged, here and only here, and left out): (plugin id, its
/// name, HTML). A view renders within the host's limits on its size and
/// time, so a plugin's view cannot hold this thread for long.
async fn render_slot_html(
    state: &AppState,
    ctx: &Ctx,
    call: &CallContext,
    slot: &Slot,
) -> Vec<(String, String, String)> {
    let lang = ctx.lang.code();
    let mut out = Vec::new();
    for (info, result) in state.plugins.render_all(call, slot).await {
        let view = match result {
            Ok(called) => called.value,
            Err(e) => {
                tracing::error!(tenant = %call.tenant, plugin = info.id(), error = %e, "plugin view failed");
                continue;
            }
        };
        let Some(view) = view else { continue };
        let page = tillit_plugins::view::Page {
            csrf: &ctx.csrf,
            lang,
        };
        match view.render(&page) {
            Ok(html) => out.push((info.id().to_owned(), info.name(lang).to_owned(), html)),
            Err(e) => {
                tracing::error!(tenant = %call.tenant, plugin = info.id(), error = %e, "plugin view did not render")
            }
        }
    }
    out
}

/// A section a plugin adds to a profile page, as the profile template
/// shows it.
#[derive(Debug, serde::Serialize)]
pub struct Section {
    pub id: String,
    pub name: String,
    /// Rendered by the kernel from the plugin's template, with escaping.
    pub html: String,
}

/// The sections plugins add to a person's profile page.
pub async fn profile_sections(state: &AppState, ctx: &Ctx, me: &Person) -> Vec<Section> {
    let call = CallContext {
        tenant: ctx.tenant.id.clone(),
        caller: Some(caller(ctx, me)),
        visit: None,
    };
    render_slot_html(state, ctx, &call, &Slot::ProfileSection(me.id.clone()))
        .await
        .into_iter()
        .map(|(id, name, html)| Section { id, name, html })
        .collect()
}

/// A live message on its way to one room connection: (plugin, JSON text).
pub type LiveTx = tokio::sync::mpsc::UnboundedSender<(String, String)>;

type Connections = HashMap<String, Vec<(u64, tillit_domain::PersonId, LiveTx)>>;

/// Who is connected to which visit's room, for plugins' live messages
/// (the `live` capability): per room, each connection's person and channel.
#[derive(Debug, Default)]
pub struct LiveRooms {
    rooms: Mutex<Connections>,
    next: std::sync::atomic::AtomicU64,
}

impl LiveRooms {
    /// Registers a connection of `person` to `room`; the returned token
    /// takes it away again ([`LiveRooms::leave`]).
    pub fn join(&self, room: &str, person: tillit_domain::PersonId, tx: LiveTx) -> u64 {
        let token = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.lock()
            .entry(room.to_owned())
            .or_default()
            .push((token, person, tx));
        token
    }

    pub fn leave(&self, room: &str, token: u64) {
        let mut rooms = self.lock();
        if let Some(conns) = rooms.get_mut(room) {
            conns.retain(|(t, ..)| *t != token);
            if conns.is_empty() {
                rooms.remove(room);
            }
        }
    }

    /// Hands each message to the room's connections it is for (one person,
    /// or everyone connected); returns how many connections got one.
    pub fn deliver(&self, room: &str, messages: Vec<tillit_plugins::LiveMessage>) -> usize {
        let rooms = self.lock();
        let Some(conns) = rooms.get(room) else {
            return 0;
        };
        let mut delivered = 0;
        for m in messages {
            for (_, person, tx) in conns {
                if m.to.as_ref().is_none_or(|to| to == person)
                    && tx.send((m.plugin.clone(), m.message.clone())).is_ok()
                {
                    delivered += 1;
                }
            }
        }
        delivered
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connections> {
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tillit_domain::PersonId;
    use tillit_plugins::LiveMessage;

    fn message(to: Option<&str>) -> LiveMessage {
        LiveMessage {
            plugin: "chat".into(),
            to: to.map(PersonId::new),
            message: "{}".into(),
        }
    }

    #[test]
    fn live_messages_reach_the_room_they_are_for_and_the_person_named() {
        let rooms = LiveRooms::default();
        let (karin, mut karin_rx) = tokio::sync::mpsc::unbounded_channel();
        let (tove, mut tove_rx) = tokio::sync::mpsc::unbounded_channel();
        let (other, mut other_rx) = tokio::sync::mpsc::unbounded_channel();
        rooms.join("demo/v1", PersonId::new("karin"), karin);
        let t = rooms.join("demo/v1", PersonId::new("tove"), tove);
        rooms.join("demo/v2", PersonId::new("karin"), other);

        assert_eq!(rooms.deliver("demo/v1", vec![message(None)]), 2);
        assert!(karin_rx.try_recv().is_ok() && tove_rx.try_recv().is_ok());
        assert!(
            other_rx.try_recv().is_err(),
            "another visit's room hears nothing"
        );

        assert_eq!(rooms.deliver("demo/v1", vec![message(Some("tove"))]), 1);
        assert!(
            karin_rx.try_recv().is_err(),
            "a message for one person only"
        );
        assert!(tove_rx.try_recv().is_ok());

        rooms.leave("demo/v1", t);
        assert_eq!(rooms.deliver("demo/v1", vec![message(Some("tove"))]), 0);
    }
}
