//! Regression: the WAL must not keep its high-water mark forever.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kizuki_store::Store;
use kizuki_store_sqlite::SqliteStore;

#[tokio::test]
async fn the_wal_is_size_limited_and_removed_on_close() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.db");
    let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let limit: i64 = sqlx::query_scalar("PRAGMA journal_size_limit")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(limit, 64 * 1024 * 1024);
    assert!(
        path.with_extension("db-wal").exists(),
        "WAL mode while open"
    );
    Store::close(&store).await;
    assert!(
        !path.with_extension("db-wal").exists(),
        "closing checkpoints and removes the WAL"
    );
}
