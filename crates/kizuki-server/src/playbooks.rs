//! The playbook catalogue: the built-in playbooks, the configured folder's, and the versions
//! administrators uploaded, merged so that the highest version of each id wins (as
//! [`Library::merge`] does).
//!
//! Uploads live in the store, so every replica serves them. A replica notices another's upload
//! by asking the store for the highest upload `seq` on each read (one indexed `MAX`) and
//! reloading only when it moved on; the uploading replica reloads at once. If the store cannot
//! be asked, the last loaded catalogue is served rather than failing the page.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::Arc;

use jiff::Timestamp;
use kizuki_playbook::{BUILTIN_FILES, Library, Playbook};
use kizuki_store::{Store, StoreError};
use std::sync::RwLock;

/// Where the playbook in use for an id came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    BuiltIn,
    /// The configured `playbooks_dir`.
    Folder,
    Uploaded {
        by: Option<String>,
        at: Timestamp,
    },
}

/// One loaded state of the catalogue; dereferences to the merged [`Library`].
#[derive(Debug, Default)]
pub struct Catalogue {
    library: Library,
    /// The upload `seq` this state includes.
    seq: i64,
    origins: BTreeMap<String, Origin>,
    /// The YAML of each playbook in use, when known (the folder's files are not kept).
    sources: BTreeMap<String, String>,
}

impl Deref for Catalogue {
    type Target = Library;
    fn deref(&self) -> &Library {
        &self.library
    }
}

impl Catalogue {
    pub fn origin(&self, id: &str) -> Option<&Origin> {
        self.origins.get(id)
    }

    pub fn source(&self, id: &str) -> Option<&str> {
        self.sources.get(id).map(String::as_str)
    }
}

/// The catalogue shared by every handler.
#[derive(Debug)]
pub struct PlaybookCatalogue {
    /// Built-in and folder playbooks, fixed at start-up.
    base: Library,
    /// The built-in files' text by (id, version), to show the source and tell built-in from
    /// folder playbooks.
    builtin_sources: BTreeMap<(String, u32), String>,
    store: Arc<dyn Store>,
    loaded: RwLock<Arc<Catalogue>>,
}

impl PlaybookCatalogue {
    /// A catalogue over `base` (built-in plus folder) and the store's uploads, which are read
    /// on first use.
    pub fn new(base: Library, store: Arc<dyn Store>) -> Self {
        let builtin_sources = BUILTIN_FILES
            .iter()
            .filter_map(|(name, text)| {
                kizuki_playbook::parse(name, text)
                    .ok()
                    .map(|p| ((p.id, p.version), (*text).to_owned()))
            })
            .collect();
        let mut me = Self {
            base,
            builtin_sources,
            store,
            loaded: RwLock::new(Arc::default()),
        };
        let first = me.build(-1, &[]);
        me.loaded = RwLock::new(Arc::new(first));
        me
    }

    /// The catalogue as it stands, reloaded first if any replica uploaded since.
    pub async fn current(&self) -> Arc<Catalogue> {
        let have = self.snapshot();
        match self.store.playbook_upload_seq().await {
            Ok(seq) if seq == have.seq => have,
            Ok(_) => match self.reload().await {
                Ok(fresh) => fresh,
                Err(e) => {
                    tracing::error!(error = %e, "could not reload uploaded playbooks");
                    have
                }
            },
            Err(e) => {
                tracing::error!(error = %e, "could not check for uploaded playbooks");
                have
            }
        }
    }

    /// The catalogue as last loaded, without asking the store: for code that cannot wait
    /// (a label on a page that has already called [`Self::current`]).
    pub fn snapshot(&self) -> Arc<Catalogue> {
        Arc::clone(&self.loaded.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Reads every upload from the store and rebuilds the catalogue.
    pub async fn reload(&self) -> Result<Arc<Catalogue>, StoreError> {
        let seq = self.store.playbook_upload_seq().await?;
        let uploads = self.store.list_playbook_versions().await?;
        let fresh = Arc::new(self.build(seq, &uploads));
        let mut loaded = self.loaded.write().unwrap_or_else(|e| e.into_inner());
        // Two reloads may race; keep the one that saw more.
        if loaded.seq <= fresh.seq {
            *loaded = Arc::clone(&fresh);
        }
        Ok(fresh)
    }

    fn build(&self, seq: i64, uploads: &[kizuki_store::StoredPlaybook]) -> Catalogue {
        let mut library = self.base.clone();
        let mut uploaded: BTreeMap<(String, u32), &kizuki_store::StoredPlaybook> = BTreeMap::new();
        for u in uploads {
            let name = format!("upload:{}@{}", u.playbook_id, u.version);
            match kizuki_playbook::parse(&name, &u.source) {
                Ok(p) => {
                    uploaded.insert((p.id.clone(), p.version), u);
                    library.insert(p);
                }
                // The server validated it before storing; a failure here is a newer
                // server's stricter rule or a hand-edited row. Skip it, keep serving.
                Err(e) => tracing::error!(error = %e, "a stored playbook does not parse"),
            }
        }
        let mut origins = BTreeMap::new();
        let mut sources = BTreeMap::new();
        for p in library.list() {
            let key = (p.id.clone(), p.version);
            let origin = if let Some(u) = uploaded.get(&key) {
                sources.insert(p.id.clone(), u.source.clone());
                Origin::Uploaded {
                    by: u.uploaded_by_name.clone(),
                    at: u.uploaded_at,
                }
            } else if let Some(text) = self.builtin_sources.get(&key) {
                sources.insert(p.id.clone(), text.clone());
                Origin::BuiltIn
            } else {
                Origin::Folder
            };
            origins.insert(p.id.clone(), origin);
        }
        Catalogue {
            library,
            seq,
            origins,
            sources,
        }
    }
}

/// The version in use for `playbook`'s id, if any: an upload must go above it.
pub fn current_version(catalogue: &Catalogue, playbook: &Playbook) -> Option<u32> {
    catalogue.get(&playbook.id).map(|p| p.version)
}
