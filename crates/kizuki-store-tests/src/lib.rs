//! This crate only holds tests (`tests/store_story.rs`, `tests/review_story.rs` and their
//! shared harness in `tests/common/`), run against SQLite and PostgreSQL.
