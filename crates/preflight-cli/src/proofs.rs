//! `preflight audit prove` and `audit check-proof`: an inclusion proof of one record against
//! the last witnessed tree head, and its check by someone holding only the heads.

use std::path::Path;

use preflight_audit::proof::InclusionProof;
use preflight_audit::{AuditStore, TreeHead};

use crate::engine::{self, to_json};
use crate::error::{CliError, EXIT_DENY, EXIT_OK};
use crate::print;

/// Prints the inclusion proof of record `seq` in the tree of the last witnessed head.
pub async fn prove(store: &AuditStore, seq: u64) -> Result<u8, CliError> {
    let audit_error = |e: preflight_audit::AuditError| CliError::Audit(e.to_string());
    let heads = store.witnessed_heads().map_err(audit_error)?;
    let Some(head) = heads.iter().max_by_key(|head| head.tree_size) else {
        return Err(CliError::Audit(
            "the witness holds no tree head: name it with --witness".into(),
        ));
    };
    let proof = store
        .inclusion_proof(seq, head.tree_size)
        .await
        .map_err(audit_error)?;
    // A proof that does not reach the witnessed root would only mislead whoever checks it.
    if !proof.verify_against(head) {
        return Err(CliError::Audit(format!(
            "the records no longer match the witnessed tree head of {} records: run \
             `preflight audit verify`",
            head.tree_size
        )));
    }
    print(&to_json(&proof, true)?)?;
    Ok(EXIT_OK)
}

/// Checks the proof in `proof_file` against the heads in `witness`, signed by the key in
/// `public_key` when given; exits 1 when it fails.
pub fn check(
    proof_file: &Path,
    witness: Option<&Path>,
    public_key: Option<&Path>,
) -> Result<u8, CliError> {
    let witness = witness.ok_or_else(|| {
        CliError::Config("name the tree heads to check against with --witness FILE".into())
    })?;
    let read = |path: &Path| {
        std::fs::read_to_string(path)
            .map_err(|e| CliError::io(format!("reading {}", path.display()), e))
    };
    let text = read(proof_file)?;
    let proof: InclusionProof = serde_path_to_error::deserialize(
        &mut serde_json::Deserializer::from_str(&text),
    )
    .map_err(|e| {
        CliError::Input(format!(
            "{} is not an inclusion proof: field `{}`: {}",
            proof_file.display(),
            preflight_core::field_name(e.path()),
            e.inner()
        ))
    })?;
    // Lines that are not heads (a write cut short) prove nothing and are passed over.
    let heads: Vec<TreeHead> = read(witness)?
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let key = public_key.map(engine::read_public_key_file).transpose()?;
    match proof.check_against_heads(&heads, key.as_ref()) {
        Ok(head) => {
            print(&format!(
                "record {} is in the tree of {} records with root {}",
                proof.seq, head.tree_size, head.root_hash
            ))?;
            Ok(EXIT_OK)
        }
        Err(why) => {
            eprintln!("preflight: the proof fails: {why}");
            Ok(EXIT_DENY)
        }
    }
}
