//! The access log: the append-only record of who read or changed which
//! patient's data.

use tillit_domain::access::{AccessEvent, AccessLogEntry};
use tillit_domain::{Personnummer, TenantId, Timestamp};
use tokio::sync::{mpsc, oneshot};

use crate::{Pool, Result, StoreError, TenantStore};

/// Access-log entries as the JSON array the batch insert reads.
fn access_events_json(events: &[AccessEvent]) -> String {
    let items: Vec<serde_json::Value> = events
        .iter()
        .map(|e| {
            serde_json::json!({
                "actor": e.actor.id(),
                "actor_role": e.actor.role(),
                "patient": e.patient.as_str(),
                "pnr": e.patient_personnummer.as_str(),
                "action": e.action.as_str(),
                "what": e.what,
            })
        })
        .collect();
    serde_json::Value::Array(items).to_string()
}

impl TenantStore<'_> {
    one_query! {
        /// Appends to the patient-data access log.
        pub async fn log_access(
            &self,
            e: &AccessEvent,
            now: Timestamp,
        ) -> Result<()> = write q::insert_access_event;

        pub async fn access_log_for(
            &self,
            pnr: &Personnummer,
        ) -> Result<Vec<AccessLogEntry>> = read q::access_log_for_patient;
    }

    /// Appends several access-log entries, durably, before it returns: a
    /// page that shows many patients costs one insert, not one per patient,
    /// and concurrent requests' entries share one commit ([`GroupCommit`]).
    pub async fn log_access_many(&self, events: &[AccessEvent], now: Timestamp) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let entries = Entries {
            tenant: self.tenant.clone(),
            at: now,
            json: access_events_json(events),
            count: events.len() as u64,
        };
        self.access.write(entries, self.pool).await
    }
}

/// One request's access-log entries, ready to insert.
#[derive(Debug)]
struct Entries {
    tenant: TenantId,
    at: Timestamp,
    json: String,
    count: u64,
}

/// Entries waiting for the writer, and where to say how their commit went.
struct Waiting {
    entries: Entries,
    done: oneshot::Sender<Result<()>>,
}

/// Group commit of the access log. A request that reads patient data
/// hands its entries to one writer task and waits; the writer takes
/// everything that has queued up meanwhile, inserts it in one transaction
/// and answers every waiter with that commit's outcome. So each response
/// still goes out only after its entries are durable (or fails if they
/// are not), but a thousand concurrent reads cost a few commits (a few
/// fsyncs on SQLite, whose `synchronous = FULL` otherwise bounds reads at
/// one commit each) instead of a thousand.
#[derive(Debug, Clone)]
pub(crate) struct GroupCommit {
    queue: mpsc::Sender<Waiting>,
}

/// At most this many requests' entries in one commit.
const MAX_BATCH: usize = 512;

impl GroupCommit {
    /// Starts the writer on the current Tokio runtime. It ends when the
    /// last clone of the store is dropped.
    pub(crate) fn start(pool: &Pool) -> Self {
        let (queue, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(pool.clone(), rx));
        Self { queue }
    }

    async fn write(&self, entries: Entries, pool: &Pool) -> Result<()> {
        let (done, outcome) = oneshot::channel();
        match self.queue.send(Waiting { entries, done }).await {
            Ok(()) => outcome.await.unwrap_or_else(|_| {
                Err(StoreError::Unavailable(
                    "the access-log writer stopped".into(),
                ))
            }),
            // The writer's runtime is gone (a store moved to another
            // runtime): write alone.
            Err(mpsc::error::SendError(w)) => insert_all(pool, &[&w.entries]).await,
        }
    }
}

impl std::fmt::Debug for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.entries.fmt(f)
    }
}

async fn run(pool: Pool, mut rx: mpsc::Receiver<Waiting>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let entries: Vec<&Entries> = batch.iter().map(|w| &w.entries).collect();
        let outcome = insert_all(&pool, &entries).await;
        if outcome.is_err() && batch.len() > 1 {
            // One request's entries must not fail the others': each alone.
            for w in batch.drain(..) {
                let alone = insert_all(&pool, &[&w.entries]).await;
                let _ = w.done.send(alone);
            }
            continue;
        }
        for w in batch.drain(..) {
            let _ = w.done.send(outcome.clone());
        }
    }
}

/// Inserts every request's entries in one transaction on `$pool`, with
/// `$backend`'s dialect of the insert; evaluates to how many rows it wrote.
macro_rules! insert_in_one_transaction {
    ($pool:expr, $backend:ident, $entries:expr) => {{
        let mut tx = $pool.begin().await?;
        let mut inserted = 0;
        for e in $entries {
            inserted +=
                $backend::insert_access_events_json(&mut *tx, e.tenant.as_str(), e.at.0, &e.json)
                    .await?;
        }
        tx.commit().await?;
        inserted
    }};
}

/// Inserts every request's entries in one transaction, or none.
async fn insert_all(pool: &Pool, entries: &[&Entries]) -> Result<()> {
    let expected: u64 = entries.iter().map(|e| e.count).sum();
    let inserted = match pool {
        Pool::Sqlite { write, .. } => {
            insert_in_one_transaction!(write, tillit_store_sqlite, entries)
        }
        Pool::Postgres(pool) => insert_in_one_transaction!(pool, tillit_store_postgres, entries),
    };
    if inserted != expected {
        return Err(StoreError::Database(format!(
            "access log: {inserted} of {expected} entries written"
        )));
    }
    Ok(())
}
