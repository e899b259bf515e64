//! Writing the audit log. Every login, permission change, data change, export and refusal
//! becomes a record sealed onto the keyed hash chain before the response leaves.
//!
//! Appends go through one writer task that takes everything queued and appends it in one
//! transaction (group commit), so auditing every write costs one extra transaction per
//! batch rather than per request, and the chain has a single appender per process (the
//! store serialises appenders across replicas).

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::Method;
use kizuki_auth::audit_chain::{AuditKey, ChainVerifier};
use kizuki_domain::audit::AuditEvent;
use kizuki_domain::clock::Clock;
use kizuki_store::Store;
use tokio::sync::{mpsc, oneshot};

use crate::access::Principal;

/// The most records appended in one transaction.
const BATCH: usize = 256;

type Job = (AuditEvent, oneshot::Sender<()>);

pub struct AuditLog {
    store: Arc<dyn Store>,
    key: Arc<AuditKey>,
    clock: Arc<dyn Clock>,
    queue: Option<mpsc::Sender<Job>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Starts the writer task on the current runtime (appends happen inline without one).
    pub fn new(store: Arc<dyn Store>, key: AuditKey, clock: Arc<dyn Clock>) -> Arc<Self> {
        let key = Arc::new(key);
        let queue = tokio::runtime::Handle::try_current().ok().map(|handle| {
            let (tx, rx) = mpsc::channel::<Job>(4 * BATCH);
            handle.spawn(write_batches(Arc::clone(&store), Arc::clone(&key), rx));
            tx
        });
        Arc::new(Self {
            store,
            key,
            clock,
            queue,
        })
    }

    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    /// Appends one event and waits until it is stored. A failure to store is logged, not
    /// returned: the action it describes has already happened.
    pub async fn record(&self, event: AuditEvent) {
        if let Some(queue) = &self.queue {
            let (done, stored) = oneshot::channel();
            if queue.send((event, done)).await.is_ok() {
                let _ = stored.await;
                return;
            }
            tracing::error!("audit writer has stopped; appending inline");
            return;
        }
        if let Err(e) = self.store.append_audit(&[event], self.key.as_ref()).await {
            tracing::error!(error = %e, "could not append to the audit log");
        }
    }

    /// An event about `principal` (or nobody) acting on `object`.
    pub fn event(
        &self,
        principal: Option<&Principal>,
        address: Option<IpAddr>,
        action: &str,
        object: &str,
        outcome: &str,
        detail: serde_json::Value,
    ) -> AuditEvent {
        AuditEvent {
            at: self.clock.now(),
            actor_id: principal.map(|p| p.user.id),
            actor: principal.map_or_else(|| "anonymous".to_owned(), |p| p.user.email.clone()),
            address: address.map(|a| a.to_string()),
            action: action.to_owned(),
            object: object.to_owned(),
            outcome: outcome.to_owned(),
            detail: if detail.is_null() {
                String::new()
            } else {
                detail.to_string()
            },
        }
    }

    /// Records a request that changed (or tried to change) something, or exported data.
    pub async fn record_request(
        &self,
        principal: Option<&Principal>,
        address: Option<IpAddr>,
        method: &Method,
        route: &str,
        uri_path: &str,
        outcome: &str,
    ) {
        let via = principal.map(|p| match &p.credential {
            crate::access::Credential::Token { .. } => "token",
            crate::access::Credential::Session { .. } => "session",
        });
        let event = self.event(
            principal,
            address,
            &format!("{method} {route}"),
            uri_path,
            outcome,
            via.map_or(serde_json::Value::Null, |v| serde_json::json!({ "via": v })),
        );
        self.record(event).await;
    }
}

/// Which requests the guard records: every change, and every read that copies data out.
pub fn is_audited(method: &Method, route: &str) -> bool {
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    // Logins are recorded by their handler, with the reason for a failure.
    if route == "/api/v1/auth/login" {
        return false;
    }
    !safe || route.ends_with("/export") || route.starts_with("/api/v1/audit")
}

async fn write_batches(store: Arc<dyn Store>, sealer: Arc<AuditKey>, mut rx: mpsc::Receiver<Job>) {
    let mut jobs: Vec<Job> = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut jobs, BATCH).await > 0 {
        let events: Vec<AuditEvent> = jobs.iter().map(|(e, _)| e.clone()).collect();
        if let Err(e) = store.append_audit(&events, sealer.as_ref()).await {
            tracing::error!(error = %e, records = events.len(), "could not append to the audit log");
        }
        for (_, done) in jobs.drain(..) {
            let _ = done.send(());
        }
    }
}

/// Walks the whole chain in pages and reports the first record that does not fit.
pub async fn verify_store(
    store: &dyn Store,
    key: &AuditKey,
) -> Result<crate::api::users::AuditVerification, kizuki_store::StoreError> {
    const PAGE: u32 = 5_000;
    let mut verifier = ChainVerifier::new(key);
    let mut verified: u64 = 0;
    let mut after = 0;
    loop {
        let page = store.list_audit(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        let full = page.len() == PAGE as usize;
        for record in page {
            if let Err(broken) = verifier.push(&record) {
                return Ok(crate::api::users::AuditVerification {
                    intact: false,
                    records: verified,
                    broken_at: Some(broken.seq),
                    reason: Some(broken.reason),
                });
            }
            verified += 1;
        }
        if !full {
            break;
        }
    }
    let head = store.audit_head().await?;
    let records = verified;
    Ok(match verifier.finish(head.as_ref()) {
        Ok(n) => crate::api::users::AuditVerification {
            intact: true,
            records: n,
            broken_at: None,
            reason: None,
        },
        Err(broken) => crate::api::users::AuditVerification {
            intact: false,
            records,
            broken_at: Some(broken.seq),
            reason: Some(broken.reason),
        },
    })
}

/// The server's own chain, checked with its key.
pub async fn verify(
    state: &crate::AppState,
) -> Result<crate::api::users::AuditVerification, kizuki_store::StoreError> {
    verify_store(state.store.as_ref(), &state.audit.key).await
}
