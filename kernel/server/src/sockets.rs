//! The open room connections (`/visits/{id}/ws`, `/video-test/ws`) and
//! what ends them before the browser does.
//!
//! Every connection is registered under who holds it and in which place (a
//! visit's room, or the person's own "Testa video"), and gets a [`Lease`]:
//! the connection runs until its lease says [`Closed`], then tells the
//! browser why and leaves the SFU.
//!
//! One connection per person and place: a new one (a reload, a second tab)
//! closes the one before with [`Closed::Replaced`], and enters the room
//! only once that one has left it, so a person takes one place in a room
//! however many sockets they open.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tillit_domain::{PersonId, TenantId};
use tokio::sync::oneshot;

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
#[derive(Debug, Clone, Default)]
pub struct Sockets {
    registry: Arc<Mutex<Registry>>,
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
    /// Registers a connection of `person` to `place`; closes the person's
    /// earlier connection there, if any, with [`Closed::Replaced`].
    pub fn open(&self, tenant: &TenantId, person: &PersonId, place: Place) -> Lease {
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
        let before = registry
            .open
            .insert(holder.clone(), Entry { id, close, gone });
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

    /// How many connections are open (for tests and metrics).
    pub fn len(&self) -> usize {
        lock(&self.registry).open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (TenantId, PersonId, PersonId) {
        (
            TenantId::parse("demo").expect("a valid tenant id"),
            PersonId::new("tove"),
            PersonId::new("karin"),
        )
    }

    #[tokio::test]
    async fn a_newer_connection_replaces_the_older_one_of_the_same_person_and_place() {
        let s = Sockets::default();
        let (demo, tove, karin) = ids();
        let v1 = || Place::Visit("v1".into());
        let mut first = s.open(&demo, &tove, v1());
        let mut other_place = s.open(&demo, &tove, Place::VideoTest);
        let mut other_person = s.open(&demo, &karin, v1());
        let mut second = s.open(&demo, &tove, v1());
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
}
