//! The set of playbooks a Kizuki instance offers.

use std::collections::BTreeMap;
use std::path::Path;

use kizuki_domain::incident::Category;

use crate::error::{PlaybookError, PlaybookErrors};
use crate::model::Playbook;
use crate::parse::parse;

/// The playbooks shipped with Kizuki: file name and text, embedded at build time.
pub const BUILTIN_FILES: &[(&str, &str)] = &[
    (
        "ransomware.yml",
        include_str!("../../../playbooks/ransomware.yml"),
    ),
    (
        "web_defacement.yml",
        include_str!("../../../playbooks/web_defacement.yml"),
    ),
    (
        "account_takeover.yml",
        include_str!("../../../playbooks/account_takeover.yml"),
    ),
    (
        "targeted_email.yml",
        include_str!("../../../playbooks/targeted_email.yml"),
    ),
    (
        "supply_chain.yml",
        include_str!("../../../playbooks/supply_chain.yml"),
    ),
    (
        "cloud_exposure.yml",
        include_str!("../../../playbooks/cloud_exposure.yml"),
    ),
    (
        "advanced_intrusion.yml",
        include_str!("../../../playbooks/advanced_intrusion.yml"),
    ),
    (
        "crypto_mining.yml",
        include_str!("../../../playbooks/crypto_mining.yml"),
    ),
    (
        "data_leak.yml",
        include_str!("../../../playbooks/data_leak.yml"),
    ),
    (
        "denial_of_service.yml",
        include_str!("../../../playbooks/denial_of_service.yml"),
    ),
    (
        "insider.yml",
        include_str!("../../../playbooks/insider.yml"),
    ),
    (
        "general.yml",
        include_str!("../../../playbooks/general.yml"),
    ),
];

/// Playbooks by id; at most one version of each id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Library {
    playbooks: BTreeMap<String, Playbook>,
}

impl Library {
    /// An empty library.
    pub fn new() -> Self {
        Self::default()
    }

    /// The playbooks embedded in the binary. The test suite guarantees they are valid, so an
    /// error here means a build from edited sources whose playbooks were not validated.
    pub fn builtin() -> Result<Self, PlaybookErrors> {
        Self::from_sources(BUILTIN_FILES.iter().copied())
    }

    /// Parses and validates `(file name, text)` pairs; every error of every file is returned.
    /// Two files with the same id and version are an error; otherwise the higher version wins.
    pub fn from_sources<'a>(
        sources: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, PlaybookErrors> {
        let mut lib = Self::new();
        let mut errors = PlaybookErrors::default();
        let mut origin: BTreeMap<(String, u32), String> = BTreeMap::new();
        for (name, text) in sources {
            match parse(name, text) {
                Ok(p) => {
                    let key = (p.id.clone(), p.version);
                    if let Some(first) = origin.get(&key) {
                        errors.push(PlaybookError::new(
                            name,
                            id_line(text),
                            None,
                            "id",
                            format!(
                                "playbook {:?} version {} is also defined in {first}; bump the version of the newer one",
                                p.id, p.version
                            ),
                        ));
                        continue;
                    }
                    origin.insert(key, name.to_owned());
                    lib.insert(p);
                }
                Err(e) => errors.extend(e),
            }
        }
        if errors.is_empty() {
            Ok(lib)
        } else {
            Err(errors)
        }
    }

    /// Loads every `*.yml` / `*.yaml` file of a directory (not recursively), in name order.
    pub fn load_dir(dir: &Path) -> Result<Self, PlaybookErrors> {
        let dir_name = dir.display().to_string();
        let read_err = |e: std::io::Error| {
            PlaybookErrors::from(PlaybookError::new(
                &dir_name,
                None,
                None,
                "",
                format!("cannot read playbook directory: {e}"),
            ))
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read_err)? {
            let path = entry.map_err(read_err)?.path();
            let is_yaml = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"));
            if is_yaml && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        let mut errors = PlaybookErrors::default();
        let mut files = Vec::new();
        for path in &paths {
            let name = path.display().to_string();
            match std::fs::read_to_string(path) {
                Ok(text) => files.push((name, text)),
                Err(e) => errors.push(PlaybookError::new(
                    &name,
                    None,
                    None,
                    "",
                    format!("cannot read file: {e}"),
                )),
            }
        }
        match Self::from_sources(files.iter().map(|(n, t)| (n.as_str(), t.as_str()))) {
            Ok(lib) if errors.is_empty() => Ok(lib),
            Ok(_) => Err(errors),
            Err(e) => {
                errors.extend(e);
                Err(errors)
            }
        }
    }

    /// Adds a playbook unless one with the same id and an equal or higher version is
    /// already present. Returns whether it was taken.
    pub fn insert(&mut self, playbook: Playbook) -> bool {
        match self.playbooks.get(&playbook.id) {
            Some(existing) if existing.version >= playbook.version => false,
            _ => {
                self.playbooks.insert(playbook.id.clone(), playbook);
                true
            }
        }
    }

    /// Merges another library into this one: a higher version of the same id replaces a lower
    /// one; on equal versions the playbook already here is kept.
    pub fn merge(&mut self, other: Library) {
        for p in other.playbooks.into_values() {
            self.insert(p);
        }
    }

    pub fn get(&self, id: &str) -> Option<&Playbook> {
        self.playbooks.get(id)
    }

    /// The playbooks for a category, by id.
    pub fn for_category(&self, category: Category) -> Vec<&Playbook> {
        self.playbooks
            .values()
            .filter(|p| p.category == category)
            .collect()
    }

    /// All playbooks, by id.
    pub fn list(&self) -> Vec<&Playbook> {
        self.playbooks.values().collect()
    }

    pub fn len(&self) -> usize {
        self.playbooks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.playbooks.is_empty()
    }
}

/// The line of the top-level `id:` key, for errors about the playbook as a whole.
fn id_line(text: &str) -> Option<u32> {
    text.lines()
        .position(|l| l.starts_with("id:"))
        .and_then(|i| u32::try_from(i + 1).ok())
}
