//! The open room connections (`/visits/{id}/ws`, `/video-test/ws`) and
//! what ends them before the browser does.
//!
//! Every connection is registered under who holds it, in which place (a
//! visit's room, or the person's own "Testa video") and with which
//! session, and gets a [`Lease`]: the connection runs until its lease says
//! [`Closed`], then tells the browser why and leaves the SFU.
//!
//! - One connection per person and place: a new one (a reload, a second
//!   tab) closes the one before with [`Closed::Replaced`], and enters the
//!   room only once that one has left it, so a person takes one place in a
//!   room however many sockets they open.
//! - The use cases report endings through `tillit_app::Live`, which
//!   [`Sockets`] implements: a session logged out or expired, a person made
//!   inactive or removed, a visit ended (which also ends the SFU's room).
//! - [`spawn_session_check`] checks each connection's session again every
//!   `server.session_check` with `sessions::resume` at the kernel's clock,
//!   and closes those whose session is gone or over: the one mechanism that
//!   needs no door to remember anything, and that sees endings made
//!   elsewhere (another process, housekeeping).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tillit_app::sessions::{self, Resumed};
use tillit_domain::{PersonId, TenantId};
use tillit_media::driver::Hub;
use tokio::sync::oneshot;

use crate::state::AppState;

/// Where a connection is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Place {
    /// The room of the visit (booking) with this id.
    Visit(String),
    /// The person's own "Testa video" room.
    VideoTest,
}

/// Why a connection was closed from this side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// The same person opened a newer connection to the same place.
    Replaced,
    /// Its session ended: logged out, expired, or the person may no longer
    /// log in.
    SessionEnded,
    /// The visit ended.
    VisitEnded,
}

/// Who holds a connection, and where: at most one connection each.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Holder {
    tenant: TenantId,
    person: PersonId,
    place: Place,
}

#[derive(Debug)]
struct Entry {
    /// Which lease this is, so an older lease does not remove its successor.
    id: u64,
    /// The hash of the session token the connection was opened with.
    session: String,
    close: oneshot::Sender<Closed>,
    /// Resolves once the connection's lease is dropped (it has left the SFU).
    gone: oneshot::Receiver<()>,
}

#[derive(Debug, Default)]
struct Registry {
    open: HashMap<Holder, Entry>,
    next: u64,
}

/// The open room connections, by who holds them. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Sockets {
    registry: Arc<Mutex<Registry>>,
    /// The SFU, whose room a visit's end closes too.
    media: Hub,
    /// Patients waiting on their visit's page.
    waiting: Arc<crate::waiting::WaitingRoom>,
}

/// A connection's registration: says when the connection must close, and
/// takes the registration away when dropped.
#[derive(Debug)]
pub struct Lease {
    registry: Arc<Mutex<Registry>>,
    holder: Holder,
    id: u64,
    /// Fires once, with the reason, when the connection must close.
    pub closed: oneshot::Receiver<Closed>,
    /// The connection this one replaced, until it is gone.
    replaced: Option<oneshot::Receiver<()>>,
    /// Dropped with the lease, which tells a successor this one is gone.
    _gone: oneshot::Sender<()>,
}

/// How long a new connection waits for the one it replaced to leave the
/// SFU (which takes a message to the media task) before going on anyway.
const REPLACED_LEAVES_WITHIN: Duration = Duration::from_secs(5);

impl Lease {
    /// Waits until the connection this one replaced has left the SFU, so
    /// the two never hold two places in the room.
    pub async fn replaced_gone(&mut self) {
        if let Some(gone) = self.replaced.take() {
            let _ = tokio::time::timeout(REPLACED_LEAVES_WITHIN, gone).await;
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut registry = lock(&self.registry);
        if registry
            .open
            .get(&self.holder)
            .is_some_and(|e| e.id == self.id)
        {
            registry.open.remove(&self.holder);
        }
    }
}

fn lock(registry: &Mutex<Registry>) -> std::sync::MutexGuard<'_, Registry> {
    registry.lock().unwrap_or_else(|p| p.into_inner())
}

impl Sockets {
    pub fn new(media: Hub) -> Self {
        Self {
            registry: Arc::default(),
            media,
            waiting: Arc::default(),
        }
    }

    /// Registers a connection of `person`, opened with the session stored
    /// under `session`, to `place`; closes the person's earlier connection
    /// there, if any, with [`Closed::Replaced`].
    pub fn open(&self, tenant: &TenantId, person: &PersonId, place: Place, session: &str) -> Lease {
        let holder = Holder {
            tenant: tenant.clone(),
            person: person.clone(),
            place,
        };
        let (close, closed) = oneshot::channel();
        let (gone_tx, gone) = oneshot::channel();
        let mut registry = lock(&self.registry);
        registry.next += 1;
        let id = registry.next;
        let before = registry.open.insert(
            holder.clone(),
            Entry {
                id,
                session: session.to_owned(),
                close,
                gone,
            },
        );
        let replaced = before.map(|old| {
            let _ = old.close.send(Closed::Replaced);
            old.gone
        });
        Lease {
            registry: Arc::clone(&self.registry),
            holder,
            id,
            closed,
            replaced,
            _gone: gone_tx,
        }
    }

    /// Closes every connection for which `which` holds, with `why`;
    /// returns how many.
    fn close_where(&self, why: Closed, which: impl Fn(&Holder, &Entry) -> bool) -> usize {
        let mut registry = lock(&self.registry);
        let ending: Vec<Holder> = registry
            .open
            .iter()
            .filter(|(h, e)| which(h, e))
            .map(|(h, _)| h.clone())
            .collect();
        for h in &ending {
            if let Some(e) = registry.open.remove(h) {
                let _ = e.close.send(why);
            }
        }
        ending.len()
    }

    /// The sessions that have connections open, once each.
    fn sessions(&self) -> Vec<(TenantId, String)> {
        let registry = lock(&self.registry);
        let mut sessions: Vec<(TenantId, String)> = registry
            .open
            .iter()
            .map(|(h, e)| (h.tenant.clone(), e.session.clone()))
            .collect();
        sessions.sort();
        sessions.dedup();
        sessions
    }

    /// How many connections are open (for tests and metrics).
    pub fn len(&self) -> usize {
        lock(&self.registry).open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl tillit_app::Live for Sockets {
    fn session_ended(&self, tenant: &TenantId, token_hash: &str) {
        self.close_where(Closed::SessionEnded, |h, e| {
            h.tenant == *tenant && e.session == token_hash
        });
    }

    fn person_shut_out(&self, tenant: &TenantId, person: &PersonId) {
        self.close_where(Closed::SessionEnded, |h, _| {
            h.tenant == *tenant && h.person == *person
        });
    }

    fn visit_ended(&self, tenant: &TenantId, booking: &str) {
        self.close_where(Closed::VisitEnded, |h, _| {
            h.tenant == *tenant && matches!(&h.place, Place::Visit(b) if b == booking)
        });
        self.media
            .end(crate::routes::room::room_key(tenant, booking));
    }

    fn patient_waiting(&self, tenant: &TenantId, booking: &str, now: tillit_domain::Timestamp) {
        self.waiting.seen(tenant, booking, now);
    }

    fn is_patient_waiting(
        &self,
        tenant: &TenantId,
        booking: &str,
        now: tillit_domain::Timestamp,
    ) -> bool {
        self.waiting.is_waiting(tenant, booking, now)
    }
}

/// Checks the session of every open connection every
/// `server.session_check`, at the kernel's clock, and closes the
/// connections of sessions that are gone (logged out, the person shut out,
/// removed) or over (idle, too old). Touching the session as any request
/// does, it lets a call in progress count as activity.
pub fn spawn_session_check(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(state.config.server.session_check.0);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            check_sessions(&state).await;
        }
    })
}

async fn check_sessions(state: &AppState) {
    use tillit_app::Live;
    for (tenant_id, hash) in state.sockets.sessions() {
        let Some(tenant) = state.tenants.by_id(&tenant_id) else {
            state.sockets.session_ended(&tenant_id, &hash);
            continue;
        };
        let store = state.store.tenant(tenant_id.clone());
        match sessions::resume(state.env_for(tenant, &store), &hash, &tenant.session).await {
            Ok(Resumed::Valid(_)) => {}
            // `resume` closed them already when it ended the session.
            Ok(Resumed::Ended(_)) => {}
            Ok(Resumed::Unknown) => state.sockets.session_ended(&tenant_id, &hash),
            // A database that does not answer for a moment cuts no call;
            // the next round checks again.
            Err(e) => {
                tracing::warn!(tenant = %tenant_id, error = %e, "could not check a room connection's session");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tillit_app::Live;

    async fn sockets() -> Sockets {
        let hub = Hub::start(([127, 0, 0, 1], 0).into(), None)
            .await
            .expect("a UDP port on loopback");
        Sockets::new(hub)
    }

    fn ids() -> (TenantId, PersonId, PersonId) {
        (
            TenantId::parse("demo").expect("a valid tenant id"),
            PersonId::new("tove"),
            PersonId::new("karin"),
        )
    }

    #[tokio::test]
    async fn a_newer_connection_replaces_the_older_one_of_the_same_person_and_place() {
        let s = sockets().await;
        let (demo, tove, karin) = ids();
        let v1 = || Place::Visit("v1".into());
        let mut first = s.open(&demo, &tove, v1(), "s1");
        let mut other_place = s.open(&demo, &tove, Place::VideoTest, "s1");
        let mut other_person = s.open(&demo, &karin, v1(), "s2");
        let mut second = s.open(&demo, &tove, v1(), "s1");
        assert_eq!(first.closed.try_recv(), Ok(Closed::Replaced));
        assert!(other_place.closed.try_recv().is_err());
        assert!(other_person.closed.try_recv().is_err());
        assert_eq!(s.len(), 3);

        // The newer one waits for the older to be gone, and no longer.
        let waiting = tokio::spawn(async move {
            second.replaced_gone().await;
            second
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("the replaced connection is gone")
            .expect("the task ran");
        // The older lease, dropped, did not take the newer one's place.
        assert_eq!(s.len(), 3);
        drop(second);
        assert_eq!(s.len(), 2);
    }

    #[tokio::test]
    async fn endings_close_the_connections_they_concern_and_no_others() {
        let s = sockets().await;
        let (demo, tove, karin) = ids();
        let norrland = TenantId::parse("norrland").expect("a valid tenant id");
        let mut tove_v1 = s.open(&demo, &tove, Place::Visit("v1".into()), "s1");
        let mut tove_test = s.open(&demo, &tove, Place::VideoTest, "s1");
        let mut tove_v2 = s.open(&demo, &tove, Place::Visit("v2".into()), "s3");
        let mut karin_v1 = s.open(&demo, &karin, Place::Visit("v1".into()), "s2");
        let mut elsewhere = s.open(&norrland, &tove, Place::Visit("v1".into()), "s1");

        s.session_ended(&demo, "s1");
        assert_eq!(tove_v1.closed.try_recv(), Ok(Closed::SessionEnded));
        assert_eq!(tove_test.closed.try_recv(), Ok(Closed::SessionEnded));
        assert!(tove_v2.closed.try_recv().is_err(), "another session's");
        assert!(elsewhere.closed.try_recv().is_err(), "another tenant's");

        s.visit_ended(&demo, "v1");
        assert_eq!(karin_v1.closed.try_recv(), Ok(Closed::VisitEnded));
        assert!(tove_v2.closed.try_recv().is_err(), "another visit's");
        assert!(elsewhere.closed.try_recv().is_err(), "another tenant's");

        s.person_shut_out(&demo, &tove);
        assert_eq!(tove_v2.closed.try_recv(), Ok(Closed::SessionEnded));
        assert!(elsewhere.closed.try_recv().is_err(), "another tenant's");
        assert_eq!(s.sessions(), vec![(norrland, "s1".to_owned())]);
    }
}
