//! The access log: the append-only record of who read or changed which
//! patient's data.

use tillit_domain::access::{AccessEvent, AccessLogEntry};
use tillit_domain::{Personnummer, Timestamp};

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

    /// Appends several access-log entries in one statement: a page that
    /// shows many patients costs one insert, not one per patient.
    pub async fn log_access_many(&self, events: &[AccessEvent], now: Timestamp) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let json = access_events_json(events);
        let t = self.tenant.as_str();
        let inserted = match self.pool {
            Pool::Sqlite { write, .. } => {
                tillit_store_sqlite::insert_access_events_json(write, t, now.0, &json).await?
            }
            Pool::Postgres(pool) => {
                tillit_store_postgres::insert_access_events_json(pool, t, now.0, &json).await?
            }
        };
        if inserted != events.len() as u64 {
            return Err(StoreError::Database(format!(
                "access log: {inserted} of {} entries written",
                events.len()
            )));
        }
        Ok(())
    }
}
