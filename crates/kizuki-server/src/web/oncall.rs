//! "Who is on call now": each rotation's current person and until when (the next hand-over,
//! overrides included), computed from the stored rotations with the injected clock. Shown on
//! the board to signed-in staff.

use std::collections::HashMap;

use kizuki_notify::oncall::{Rotation, Source};

use super::WebRequest;
use crate::AppState;

/// One rotation's line.
#[derive(Debug)]
pub struct OnCallView {
    pub rotation: String,
    /// The person on call, or `None` when the rotation names nobody now.
    pub person: Option<String>,
    /// "until …" (or "no hand-over planned") in the reader's language.
    pub until: String,
    /// Someone is covering through an override.
    pub covering: bool,
}

/// Every rotation, in the store's order. A rotation that no longer validates is shown as
/// naming nobody (and logged) rather than failing the page.
pub async fn now(state: &AppState, req: &WebRequest) -> Vec<OnCallView> {
    let tr = req.tr;
    let rotations = match state.store.list_rotations().await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "could not read the on-call rotations");
            return Vec::new();
        }
    };
    if rotations.is_empty() {
        return Vec::new();
    }
    let names: HashMap<i64, String> = match state.store.list_users().await {
        Ok(users) => users.into_iter().map(|u| (u.id, u.display_name)).collect(),
        Err(e) => {
            tracing::error!(error = %e, "could not read users for the on-call view");
            HashMap::new()
        }
    };
    let at = state.clock.now();
    rotations
        .into_iter()
        .map(|stored| {
            let rotation = match Rotation::new(&stored.spec) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(rotation = stored.id, error = %e, "a stored rotation does not validate");
                    return OnCallView {
                        rotation: stored.spec.name,
                        person: None,
                        until: String::new(),
                        covering: false,
                    };
                }
            };
            let on_call = rotation.on_call_at(at);
            let until = match rotation.next_handover_after(at) {
                Some(t) => tr.t1("oncall-until", "at", req.local_time(t)),
                None => tr.t("oncall-no-handover"),
            };
            OnCallView {
                rotation: stored.spec.name,
                person: on_call.map(|o| {
                    names
                        .get(&o.user_id)
                        .cloned()
                        .unwrap_or_else(|| tr.t1("oncall-unknown-user", "id", o.user_id))
                }),
                until,
                covering: on_call.is_some_and(|o| matches!(o.source, Source::Override { .. })),
            }
        })
        .collect()
}
