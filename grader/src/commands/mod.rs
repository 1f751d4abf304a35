//! One module per command of `cargo grade`.

pub mod grade;
pub mod list;
pub mod manifest;
pub mod schema;
pub mod self_check;
pub mod snapshots;
pub mod validate;
pub mod watch;
