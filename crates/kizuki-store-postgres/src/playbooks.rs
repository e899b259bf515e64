//! Uploaded playbook versions (migration 0006) and the administrators' token overview.
//!
//! Kept apart from `lib.rs` because neither is on the hot path of a live incident; the trait
//! methods in `lib.rs` forward here.
//!
//! Two replicas may take uploads of the same playbook at once. The rule "only a higher
//! version" is checked under a transaction-scoped advisory lock keyed by the playbook id, so
//! of two racing uploads the second sees the first; the unique (id, version) constraint
//! backs it up.

use jiff::Timestamp;
use kizuki_domain::user::ApiToken;
use kizuki_store::{NewPlaybookVersion, Result, StoreError, StoredPlaybook};
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgPool};

use crate::rows::{Cols, TOKEN_COLS, to_db_ts};
use crate::{FOREIGN_KEY_VIOLATION, UNIQUE_VIOLATION, collect, db_err, not_found, violated};

const PLAYBOOK_SELECT: &str = "SELECT p.seq, p.playbook_id, p.version, p.source, \
     p.uploaded_by, u.display_name AS uploaded_by_name, p.uploaded_at \
     FROM playbook_versions p LEFT JOIN users u ON u.id = p.uploaded_by";

fn playbook(row: &PgRow) -> Result<StoredPlaybook> {
    let c = Cols::new(row, "playbook_versions");
    Ok(StoredPlaybook {
        seq: c.get("seq")?,
        playbook_id: c.get("playbook_id")?,
        version: c.u32("version")?,
        source: c.get("source")?,
        uploaded_by: c.get("uploaded_by")?,
        uploaded_by_name: c.get("uploaded_by_name")?,
        uploaded_at: c.ts("uploaded_at")?,
    })
}

fn duplicate(new: &NewPlaybookVersion) -> StoreError {
    StoreError::Duplicate {
        what: format!(
            "playbook {} version {} or a higher one",
            new.playbook_id, new.version
        ),
    }
}

pub(crate) async fn add_playbook_version(
    pool: &PgPool,
    new: &NewPlaybookVersion,
) -> Result<StoredPlaybook> {
    let mut tx = pool.begin().await.map_err(db_err)?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('kizuki.playbook:' || $1, 0))")
        .bind(&new.playbook_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    let seq: Option<i64> = sqlx::query_scalar(
        "INSERT INTO playbook_versions (playbook_id, version, source, uploaded_by, uploaded_at) \
         SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS \
           (SELECT 1 FROM playbook_versions WHERE playbook_id = $1 AND version >= $2) \
         RETURNING seq",
    )
    .bind(&new.playbook_id)
    .bind(i64::from(new.version))
    .bind(&new.source)
    .bind(new.uploaded_by)
    .bind(to_db_ts(new.uploaded_at)?)
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| {
        if violated(&e, FOREIGN_KEY_VIOLATION).is_some() {
            not_found("user", new.uploaded_by)
        } else if violated(&e, UNIQUE_VIOLATION).is_some() {
            duplicate(new)
        } else {
            db_err(e)
        }
    })?;
    let Some(seq) = seq else {
        return Err(duplicate(new));
    };
    let row = sqlx::query(AssertSqlSafe(format!("{PLAYBOOK_SELECT} WHERE p.seq = $1")))
        .bind(seq)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    playbook(&row)
}

pub(crate) async fn list_playbook_versions(pool: &PgPool) -> Result<Vec<StoredPlaybook>> {
    let rows = sqlx::query(AssertSqlSafe(format!("{PLAYBOOK_SELECT} ORDER BY p.seq")))
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    collect(rows, playbook)
}

pub(crate) async fn playbook_upload_seq(pool: &PgPool) -> Result<i64> {
    sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0)::BIGINT FROM playbook_versions")
        .fetch_one(pool)
        .await
        .map_err(db_err)
}

pub(crate) async fn list_unrevoked_tokens(pool: &PgPool) -> Result<Vec<ApiToken>> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {TOKEN_COLS} FROM api_tokens WHERE revoked_at IS NULL ORDER BY id DESC"
    )))
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    collect(rows, crate::rows::token)
}

pub(crate) async fn revoke_any_token(
    pool: &PgPool,
    token_id: i64,
    now: Timestamp,
) -> Result<Option<ApiToken>> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL \
         RETURNING {TOKEN_COLS}"
    )))
    .bind(token_id)
    .bind(to_db_ts(now)?)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    row.as_ref().map(crate::rows::token).transpose()
}
