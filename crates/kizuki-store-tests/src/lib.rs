//! This crate only holds `tests/store_story.rs`, run against SQLite and PostgreSQL.
