#![doc = include_str!("../README.md")]

mod error;
mod keys;
mod record;
mod store;
mod verify;

pub use ed25519_dalek::{SigningKey, VerifyingKey};
pub use error::AuditError;
pub use record::{Filter, StoredRecord, chain_hash, decision_of};
pub use store::{AuditStore, AuditStoreBuilder, BackendKind, NOTIFY_CHANNEL};
pub use verify::{Tamper, VerifyReport};
