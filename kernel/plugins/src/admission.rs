//! Who may start a call: the instance pool shared out between tenants and
//! plugins, so that no tenant's calls can take another tenant's instances.
//!
//! A call holds three permits while it runs: one of its plugin's in its
//! tenant ([`Limits::plugin_calls`]), one of its tenant's
//! ([`Limits::tenant_calls`]) and one instance of the pool
//! ([`Limits::concurrent_calls`], the pooling allocator's size, so
//! instantiating never fails for want of a slot). It takes them in that
//! order and waits for them, first come first served, up to
//! [`Limits::queue_time`]. A tenant that floods the host waits behind its
//! own share while other tenants' calls go on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tillit_domain::TenantId;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::Limits;

/// The shares of one host.
#[derive(Debug)]
pub(crate) struct Admission {
    pool: Arc<Semaphore>,
    tenant_calls: usize,
    plugin_calls: usize,
    queue_time: Duration,
    /// Per tenant: its share, and its plugins' shares. Entries stay: there
    /// is one per enabled (tenant, plugin), made at its first call.
    tenants: Mutex<HashMap<TenantId, Shares>>,
}

#[derive(Debug)]
struct Shares {
    tenant: Arc<Semaphore>,
    plugins: HashMap<String, Arc<Semaphore>>,
}

/// A call's place in the pool, given back when dropped. Drop it after the
/// call's store, which gives the instance back to the pool.
#[derive(Debug)]
pub(crate) struct Admitted {
    _plugin: OwnedSemaphorePermit,
    _tenant: OwnedSemaphorePermit,
    _pool: OwnedSemaphorePermit,
}

impl Admission {
    pub(crate) fn new(limits: &Limits) -> Self {
        let pool = limits.concurrent_calls.max(1) as usize;
        let tenant_calls = (limits.tenant_calls as usize).clamp(1, pool);
        Self {
            pool: Arc::new(Semaphore::new(pool)),
            tenant_calls,
            plugin_calls: (limits.plugin_calls as usize).clamp(1, tenant_calls),
            queue_time: limits.queue_time,
            tenants: Mutex::new(HashMap::new()),
        }
    }

    /// A place for a call of `plugin` in `tenant`, waiting for it up to the
    /// queue time; None if none came free by then.
    pub(crate) async fn admit(&self, tenant: &TenantId, plugin: &str) -> Option<Admitted> {
        let (tenant_share, plugin_share) = self.shares(tenant, plugin);
        // Without waiting, if there is room (no timer to set up).
        if let (Ok(p), Ok(t), Ok(g)) = (
            plugin_share.clone().try_acquire_owned(),
            tenant_share.clone().try_acquire_owned(),
            self.pool.clone().try_acquire_owned(),
        ) {
            return Some(Admitted {
                _plugin: p,
                _tenant: t,
                _pool: g,
            });
        }
        let waited = async {
            let p = plugin_share.acquire_owned().await.ok()?;
            let t = tenant_share.acquire_owned().await.ok()?;
            let g = self.pool.clone().acquire_owned().await.ok()?;
            Some(Admitted {
                _plugin: p,
                _tenant: t,
                _pool: g,
            })
        };
        tokio::time::timeout(self.queue_time, waited)
            .await
            .ok()
            .flatten()
    }

    fn shares(&self, tenant: &TenantId, plugin: &str) -> (Arc<Semaphore>, Arc<Semaphore>) {
        let mut tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        let shares = tenants.entry(tenant.clone()).or_insert_with(|| Shares {
            tenant: Arc::new(Semaphore::new(self.tenant_calls)),
            plugins: HashMap::new(),
        });
        let plugin_share = match shares.plugins.get(plugin) {
            Some(share) => share.clone(),
            None => {
                let share = Arc::new(Semaphore::new(self.plugin_calls));
                shares.plugins.insert(plugin.to_owned(), share.clone());
                share
            }
        };
        (shares.tenant.clone(), plugin_share)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(id: &str) -> TenantId {
        TenantId::parse(id).unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn a_tenant_gets_its_share_and_no_more_and_others_keep_theirs() {
        let limits = Limits {
            concurrent_calls: 8,
            tenant_calls: 4,
            plugin_calls: 3,
            queue_time: Duration::from_millis(20),
            ..Limits::default()
        };
        let admission = Admission::new(&limits);
        let (alfa, beta) = (tenant("alfa"), tenant("beta"));
        let mut held = Vec::new();
        // One plugin of alfa: three.
        for _ in 0..3 {
            held.push(admission.admit(&alfa, "a").await);
        }
        assert!(held.iter().all(Option::is_some));
        assert!(admission.admit(&alfa, "a").await.is_none());
        // Another plugin of alfa: one more, up to the tenant's four.
        held.push(admission.admit(&alfa, "b").await);
        assert!(held.iter().all(Option::is_some));
        assert!(admission.admit(&alfa, "b").await.is_none());
        // Beta has all of its own.
        let beta_held: Vec<_> = futures::future::join_all(
            (0..4).map(|i| admission.admit(&beta, if i < 2 { "a" } else { "b" })),
        )
        .await;
        assert!(beta_held.iter().all(Option::is_some));
        // A call that waits gets the place a finished one gives back.
        let release = async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            held.remove(0);
        };
        let (waited, ()) = tokio::join!(admission.admit(&alfa, "a"), release);
        assert!(waited.is_some());
    }
}
