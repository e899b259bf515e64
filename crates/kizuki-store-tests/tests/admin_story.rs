//! Administration stories told to every backend: uploaded playbook versions and the
//! administrators' view of everyone's API tokens. The harness is in `common/mod.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly by design

#[allow(dead_code)] // the shared harness has fixtures this story does not need
mod common;

use std::sync::Arc;

use kizuki_domain::user::{Role, TokenScope};
use kizuki_store::{NewPlaybookVersion, Store, StoreError};

use common::{NOW, at, story, user};

fn version(id: &str, version: u32, by: i64) -> NewPlaybookVersion {
    NewPlaybookVersion {
        playbook_id: id.into(),
        version,
        source: format!("id: {id}\nversion: {version}\n"),
        uploaded_by: by,
        uploaded_at: at("2026-01-11T00:00:00.123456Z"),
    }
}

async fn playbook_versions_only_go_up(store: &dyn Store) {
    let admin = user(store, "admin@example.jp", Role::Admin).await;
    assert_eq!(store.playbook_upload_seq().await.unwrap(), 0);
    assert!(store.list_playbook_versions().await.unwrap().is_empty());

    let first = store
        .add_playbook_version(&version("ransomware", 2, admin.id))
        .await
        .unwrap();
    assert_eq!(first.playbook_id, "ransomware");
    assert_eq!(first.version, 2);
    assert_eq!(first.source, "id: ransomware\nversion: 2\n");
    assert_eq!(first.uploaded_by, Some(admin.id));
    assert_eq!(
        first.uploaded_by_name.as_deref(),
        Some(admin.display_name.as_str())
    );
    assert_eq!(first.uploaded_at, at("2026-01-11T00:00:00.123456Z"));
    assert_eq!(store.playbook_upload_seq().await.unwrap(), first.seq);

    // Equal and lower versions are refused, and change nothing.
    for v in [2, 1] {
        let err = store
            .add_playbook_version(&version("ransomware", v, admin.id))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Duplicate { .. }), "{v}: {err}");
    }
    assert_eq!(store.playbook_upload_seq().await.unwrap(), first.seq);

    // Another id has its own numbering; a higher version of the first moves the seq on.
    let other = store
        .add_playbook_version(&version("insider", 1, admin.id))
        .await
        .unwrap();
    let third = store
        .add_playbook_version(&version("ransomware", 5, admin.id))
        .await
        .unwrap();
    assert!(first.seq < other.seq && other.seq < third.seq);
    assert_eq!(store.playbook_upload_seq().await.unwrap(), third.seq);
    let listed = store.list_playbook_versions().await.unwrap();
    assert_eq!(listed, vec![first, other, third]);

    // An unknown uploader is refused.
    let err = store
        .add_playbook_version(&version("general", 9, admin.id + 1000))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
}

async fn racing_uploads_store_one_version(store: Arc<dyn Store>) {
    let admin = user(&*store, "admin@example.jp", Role::Admin).await;
    let mut handles = Vec::new();
    for _ in 0..6 {
        let s = Arc::clone(&store);
        let by = admin.id;
        handles.push(tokio::spawn(async move {
            s.add_playbook_version(&version("general", 3, by)).await
        }));
    }
    let mut won = 0;
    for h in handles {
        match h.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::Duplicate { .. }) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(store.list_playbook_versions().await.unwrap().len(), 1);
}

async fn administrators_see_and_revoke_every_token(store: &dyn Store) {
    let a = user(store, "a@example.jp", Role::Responder).await;
    let b = user(store, "b@example.jp", Role::Executive).await;
    let scope = TokenScope::full();
    let ta = store
        .create_token(a.id, "a's", &scope, "ha", at(NOW), None)
        .await
        .unwrap();
    let tb = store
        .create_token(b.id, "b's", &scope, "hb", at(NOW), None)
        .await
        .unwrap();
    let gone = store
        .create_token(b.id, "old", &scope, "hc", at(NOW), None)
        .await
        .unwrap();
    assert!(store.revoke_token(b.id, gone.id, at(NOW)).await.unwrap());

    let listed = store.list_unrevoked_tokens().await.unwrap();
    assert_eq!(
        listed,
        vec![tb.clone(), ta.clone()],
        "newest first, no revoked"
    );

    let later = at("2026-01-11T02:00:00Z");
    let revoked = store.revoke_any_token(ta.id, later).await.unwrap().unwrap();
    assert_eq!(revoked.user_id, a.id);
    assert_eq!(revoked.revoked_at, Some(later));
    assert!(
        store
            .user_by_token_hash("ha", later)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .revoke_any_token(ta.id, later)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .revoke_any_token(gone.id, later)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .revoke_any_token(tb.id + 1000, later)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.list_unrevoked_tokens().await.unwrap(), vec![tb]);
}

story! {
    playbook_versions_only_go_up => |s: Arc<dyn Store>| async move { super::playbook_versions_only_go_up(&*s).await };
    racing_uploads_store_one_version => |s: Arc<dyn Store>| async move { super::racing_uploads_store_one_version(s).await };
    administrators_see_and_revoke_every_token => |s: Arc<dyn Store>| async move { super::administrators_see_and_revoke_every_token(&*s).await };
}
