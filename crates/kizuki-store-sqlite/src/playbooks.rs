//! Uploaded playbook versions (migration 0007) and the administrators' token overview.
//!
//! Kept apart from `lib.rs` because neither is on the hot path of a live incident; the trait
//! methods in `lib.rs` forward here.

use jiff::Timestamp;
use kizuki_domain::user::ApiToken;
use kizuki_store::{NewPlaybookVersion, Result, StoreError, StoredPlaybook};
use sqlx::{AssertSqlSafe, SqlitePool};

use crate::rows::{TokenRow, all, int, micros, token_cols, ts};
use crate::{db, is_unique_violation, not_found};

type PlaybookRow = (i64, String, i64, String, Option<i64>, Option<String>, i64);

const PLAYBOOK_SELECT: &str = "SELECT p.seq, p.playbook_id, p.version, p.source, p.uploaded_by, \
     u.display_name, p.uploaded_at FROM playbook_versions p \
     LEFT JOIN users u ON u.id = p.uploaded_by";

fn playbook(row: PlaybookRow) -> Result<StoredPlaybook> {
    const T: &str = "playbook_versions";
    let (seq, playbook_id, version, source, uploaded_by, uploaded_by_name, uploaded_at) = row;
    Ok(StoredPlaybook {
        seq,
        playbook_id,
        version: int(T, "version", version)?,
        source,
        uploaded_by,
        uploaded_by_name,
        uploaded_at: ts(T, "uploaded_at", uploaded_at)?,
    })
}

pub(crate) async fn add_playbook_version(
    write: &SqlitePool,
    new: &NewPlaybookVersion,
) -> Result<StoredPlaybook> {
    let mut tx = write.begin().await.map_err(db)?;
    let uploader: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = ?")
        .bind(new.uploaded_by)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
    if uploader.is_none() {
        return Err(not_found("user", new.uploaded_by));
    }
    // The "not higher than what is stored" rule is part of the writing statement; with
    // SQLite's single writer nothing can slip in between.
    let seq: Option<i64> = sqlx::query_scalar(
        "INSERT INTO playbook_versions (playbook_id, version, source, uploaded_by, uploaded_at) \
         SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS \
           (SELECT 1 FROM playbook_versions WHERE playbook_id = ?1 AND version >= ?2) \
         RETURNING seq",
    )
    .bind(&new.playbook_id)
    .bind(i64::from(new.version))
    .bind(&new.source)
    .bind(new.uploaded_by)
    .bind(micros(new.uploaded_at))
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            duplicate(new)
        } else {
            db(e)
        }
    })?;
    let Some(seq) = seq else {
        return Err(duplicate(new));
    };
    let row: PlaybookRow =
        sqlx::query_as(AssertSqlSafe(format!("{PLAYBOOK_SELECT} WHERE p.seq = ?")))
            .bind(seq)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
    tx.commit().await.map_err(db)?;
    playbook(row)
}

fn duplicate(new: &NewPlaybookVersion) -> StoreError {
    StoreError::Duplicate {
        what: format!(
            "playbook {} version {} or a higher one",
            new.playbook_id, new.version
        ),
    }
}

pub(crate) async fn list_playbook_versions(read: &SqlitePool) -> Result<Vec<StoredPlaybook>> {
    let rows: Vec<PlaybookRow> =
        sqlx::query_as(AssertSqlSafe(format!("{PLAYBOOK_SELECT} ORDER BY p.seq")))
            .fetch_all(read)
            .await
            .map_err(db)?;
    all(rows, playbook)
}

pub(crate) async fn playbook_upload_seq(read: &SqlitePool) -> Result<i64> {
    sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM playbook_versions")
        .fetch_one(read)
        .await
        .map_err(db)
}

pub(crate) async fn list_unrevoked_tokens(read: &SqlitePool) -> Result<Vec<ApiToken>> {
    let rows = sqlx::query_as::<_, TokenRow>(concat!(
        "SELECT ",
        token_cols!(),
        " FROM api_tokens WHERE revoked_at IS NULL ORDER BY id DESC"
    ))
    .fetch_all(read)
    .await
    .map_err(db)?;
    all(rows, TokenRow::into_domain)
}

pub(crate) async fn revoke_any_token(
    write: &SqlitePool,
    token_id: i64,
    now: Timestamp,
) -> Result<Option<ApiToken>> {
    sqlx::query_as::<_, TokenRow>(concat!(
        "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING ",
        token_cols!()
    ))
    .bind(micros(now))
    .bind(token_id)
    .fetch_optional(write)
    .await
    .map_err(db)?
    .map(TokenRow::into_domain)
    .transpose()
}
