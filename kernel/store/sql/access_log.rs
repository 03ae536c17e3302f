//! The access log: who read or changed which patient's data, append-only.

use sqlx::Executor;
use tillit_domain::access::AccessLogEntry;
use tillit_domain::{Personnummer, TenantId, Timestamp};

use super::Result;
use crate::Db;

pub async fn insert_access_event<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    e: &tillit_domain::access::AccessEvent,
    now: Timestamp,
) -> Result<()> {
    let actor = e.actor.id();
    sqlx::query!(
        r#"INSERT INTO access_log (tenant_id, at, actor_id, actor_role, patient_id, patient_personnummer, action, what)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"#,
        tenant.as_str(),
        now.0,
        actor.as_ref(),
        e.actor.role(),
        e.patient.as_str(),
        e.patient_personnummer.as_str(),
        e.action.as_str(),
        e.what,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// The log entries naming a patient, identified by personnummer so the
/// follow-up works after the patient row is gone. Oldest first.
pub async fn access_log_for_patient<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    pnr: &Personnummer,
) -> Result<Vec<AccessLogEntry>> {
    let rows = sqlx::query!(
        r#"SELECT at AS "at!", actor_id AS "actor_id!", actor_role AS "actor_role!",
                  patient_id AS "patient_id!", action AS "action!", what AS "what!"
           FROM access_log WHERE tenant_id = $1 AND patient_personnummer = $2
           ORDER BY seq"#,
        tenant.as_str(),
        pnr.as_str(),
    )
    .fetch_all(ex)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AccessLogEntry {
            at: Timestamp(r.at),
            actor_id: r.actor_id,
            actor_role: r.actor_role,
            patient_id: r.patient_id,
            action: r.action,
            what: r.what,
        })
        .collect())
}
