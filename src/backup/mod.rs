//! Backups at the edge: the target (a directory or S3-compatible storage, through the
//! `object_store` crate), a part copied out of a stopped container and stored with its
//! manifest, and the backup recorded in etcd once both parts are stored, with retention.
//! What is due and which member is stopped is the planner's ([`mesos_operator_core::backup`]).

pub mod part;
pub mod record;
pub mod target;

pub use target::{BackupError, BackupStore};
