//! Library loading and merging.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kizuki_domain::incident::Category;
use kizuki_playbook::Library;

fn playbook(id: &str, version: u32, category: &str, title: &str) -> String {
    format!(
        "id: {id}\nversion: {version}\ncategory: {category}\ntitle: {{ ja: {title}, en: {title} }}\nsummary: {{ ja: 要約, en: Summary }}\nphases:\n  - id: triage\n    title: {{ ja: 初動, en: Triage }}\n    tasks:\n      - id: t1\n        title: {{ ja: 作業, en: Task }}\n        lane: ciso_csirt\n        why: {{ case: 1, lesson: {{ ja: 教訓, en: Lesson }} }}\n"
    )
}

#[test]
fn higher_version_replaces_lower_and_equal_keeps_existing() {
    let mut lib = Library::builtin().unwrap();
    let builtin_version = lib.get("ransomware").unwrap().version;
    let mut newer = Library::from_sources([(
        "r.yml",
        playbook("ransomware", builtin_version + 1, "ransomware", "新版").as_str(),
    )])
    .unwrap();
    let older = Library::from_sources([(
        "r.yml",
        playbook("ransomware", builtin_version, "ransomware", "同版").as_str(),
    )])
    .unwrap();
    let before = lib.clone();
    lib.merge(older);
    assert_eq!(
        lib, before,
        "an equal version must not replace the loaded one"
    );
    let extra =
        Library::from_sources([("x.yml", playbook("local_only", 1, "other", "独自").as_str())])
            .unwrap();
    newer.merge(extra);
    lib.merge(newer);
    assert_eq!(lib.get("ransomware").unwrap().version, builtin_version + 1);
    assert_eq!(lib.get("ransomware").unwrap().title.ja, "新版");
    assert!(lib.get("local_only").is_some());
    assert_eq!(lib.for_category(Category::Other).len(), 2);
    assert_eq!(lib.len(), before.len() + 1);
    // Lower version merged later does not win.
    let mut lower = Library::new();
    assert!(lower.insert(lib.get("ransomware").unwrap().clone()));
    lib.merge(Library::builtin().unwrap());
    assert_eq!(lib.get("ransomware").unwrap().version, builtin_version + 1);
}

#[test]
fn load_dir_reports_all_errors_of_all_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yml"), playbook("a", 1, "ransom", "A")).unwrap();
    std::fs::write(dir.path().join("b.yaml"), playbook("b", 0, "other", "B")).unwrap();
    std::fs::write(dir.path().join("c.yml"), playbook("c", 2, "other", "C")).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
    let err = Library::load_dir(dir.path()).unwrap_err();
    let text = err.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].ends_with("a.yml:3:11: category: unknown category \"ransom\"; expected one of ransomware, web_defacement, unauthorised_access, targeted_email, supply_chain, cloud_exposure, crypto_mining, data_leak, denial_of_service, insider, other"), "{}", lines[0]);
    assert!(
        lines[1].ends_with(
            "b.yaml:2:10: version: version must be a whole number of at least 1, found 0"
        ),
        "{}",
        lines[1]
    );

    std::fs::remove_file(dir.path().join("a.yml")).unwrap();
    std::fs::remove_file(dir.path().join("b.yaml")).unwrap();
    let lib = Library::load_dir(dir.path()).unwrap();
    assert_eq!(lib.list().len(), 1);
    assert_eq!(lib.get("c").unwrap().key(), "c@2");
}

#[test]
fn same_id_and_version_twice_is_an_error_higher_version_wins() {
    let err = Library::from_sources([
        ("one.yml", playbook("dup", 1, "other", "一").as_str()),
        ("two.yml", playbook("dup", 1, "other", "二").as_str()),
    ])
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "two.yml:1: id: playbook \"dup\" version 1 is also defined in one.yml; bump the version of the newer one"
    );
    let lib = Library::from_sources([
        ("one.yml", playbook("dup", 3, "other", "三").as_str()),
        ("two.yml", playbook("dup", 2, "other", "二").as_str()),
    ])
    .unwrap();
    assert_eq!(lib.get("dup").unwrap().version, 3);
}

#[test]
fn missing_directory_and_file_are_reported() {
    let err = Library::load_dir(std::path::Path::new("/nonexistent/kizuki-playbooks")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/nonexistent/kizuki-playbooks: cannot read playbook directory:"),
        "{err}"
    );
    let err =
        kizuki_playbook::validate_file(std::path::Path::new("/nonexistent/x.yml")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/nonexistent/x.yml: cannot read file:"),
        "{err}"
    );
}

#[test]
fn validate_file_names_the_path_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.yml");
    std::fs::write(
        &path,
        playbook("mine", 1, "other", "M").replace("lane: ciso_csirt", "lane: csirt"),
    )
    .unwrap();
    let err = kizuki_playbook::validate_file(&path).unwrap_err();
    assert_eq!(err.len(), 1);
    let e = &err.errors()[0];
    assert_eq!((e.line, e.column), (Some(12), Some(15)));
    assert_eq!(e.path, "phases[0].tasks[0].lane");
    assert_eq!(e.file, path.display().to_string());
    assert_eq!(
        e.to_string(),
        format!(
            "{}:12:15: phases[0].tasks[0].lane: unknown lane \"csirt\"; expected one of management_pr, ciso_csirt, it_business, external",
            path.display()
        )
    );
}
