//! Profiles: what a clinician tells patients about themselves.

use sqlx::Executor;
use tillit_domain::booking::{Profile, ProfileText};
use tillit_domain::{PersonId, TenantId, Timestamp};

use super::Result;
use crate::Db;

pub async fn profile<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    person: &PersonId,
) -> Result<Option<Profile>> {
    let row = sqlx::query!(
        r#"SELECT title AS "title!", introduction AS "introduction!", way_of_working AS "way_of_working!",
                  first_visit AS "first_visit!", visiting_address AS "visiting_address!", unit AS "unit!",
                  published_at AS "published_at?"
           FROM clinician_profiles WHERE tenant_id = $1 AND person_id = $2"#,
        tenant.as_str(),
        person.as_str(),
    )
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| Profile {
        text: ProfileText {
            title: r.title,
            introduction: r.introduction,
            way_of_working: r.way_of_working,
            first_visit: r.first_visit,
            visiting_address: r.visiting_address,
            unit: r.unit,
        },
        published_at: r.published_at.map(Timestamp),
    }))
}

/// Saves the profile's text; publishing is left as it was.
pub async fn save_profile_text<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    person: &PersonId,
    p: &ProfileText,
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO clinician_profiles (tenant_id, person_id, title, introduction, way_of_working, first_visit,
                                          visiting_address, unit, published_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $9, NULL, $8)
           ON CONFLICT (tenant_id, person_id) DO UPDATE SET
               title = excluded.title, introduction = excluded.introduction,
               way_of_working = excluded.way_of_working, first_visit = excluded.first_visit,
               visiting_address = excluded.visiting_address, unit = excluded.unit,
               updated_at = excluded.updated_at"#,
        tenant.as_str(),
        person.as_str(),
        p.title,
        p.introduction,
        p.way_of_working,
        p.first_visit,
        p.visiting_address,
        now.0,
        p.unit,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Publishes (`Some(time)`) or unpublishes (`None`) a profile that exists.
/// Returns whether it existed.
pub async fn set_profile_published<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    person: &PersonId,
    published_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query!(
        "UPDATE clinician_profiles SET published_at = $3, updated_at = $4 WHERE tenant_id = $1 AND person_id = $2",
        tenant.as_str(),
        person.as_str(),
        published_at.map(|t| t.0),
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}
