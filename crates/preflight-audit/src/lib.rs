#![doc = include_str!("../README.md")]

mod error;
mod keys;
pub mod merkle;
pub mod proof;
mod record;
mod store;
mod verify;
mod witness;

pub use ed25519_dalek::{SigningKey, VerifyingKey};
pub use error::AuditError;
pub use record::{Filter, StoredRecord, chain_hash, decision_of};
pub use store::{
    AuditStore, AuditStoreBuilder, BackendKind, DEFAULT_WITNESS_EVERY, NOTIFY_CHANNEL,
};
pub use verify::{Tamper, VerifyReport};
pub use witness::TreeHead;
