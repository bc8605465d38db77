//! Signed tree heads, and the witness: an append-only file of them outside the database, which
//! someone rewriting the database does not control.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use preflight_core::{from_hex, to_hex};
use serde::{Deserialize, Serialize};

use crate::error::AuditError;
use crate::merkle::Frontier;
use crate::record::{Hash, to_hash};

/// A tree head: the size of the trail's Merkle tree, its root and the chain hash of its last
/// record, signed when the store has a signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeHead {
    /// The number of records the tree covers (records 1 to `tree_size`).
    pub tree_size: u64,
    /// The tree's root, 64 hex digits.
    pub root_hash: String,
    /// The chain hash of record `tree_size`, 64 hex digits (zeros for the empty tree).
    pub chain_hash: String,
    /// When the head was made, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The signer's public key, 64 hex digits, when signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// The ed25519 signature over [`TreeHead::message`], 128 hex digits, when signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// The tree's right edge at this size, to extend it without reading every record again.
    /// Not signed: only the root is evidence.
    #[serde(default)]
    pub frontier: Vec<String>,
}

impl TreeHead {
    /// A head for the tree `frontier` whose last record has chain hash `chain`, signed with
    /// `key` when given.
    pub(crate) fn new(
        frontier: &Frontier,
        chain: &Hash,
        at_ms: i64,
        key: Option<&SigningKey>,
    ) -> Self {
        let root = frontier.root();
        let signature = key.map(|k| k.sign(&message(frontier.size(), &root, chain, at_ms)));
        Self {
            tree_size: frontier.size(),
            root_hash: to_hex(&root),
            chain_hash: to_hex(chain),
            at_ms,
            public_key: key.map(|k| to_hex(k.verifying_key().as_bytes())),
            signature: signature.map(|s| to_hex(&s.to_bytes())),
            frontier: frontier.nodes().iter().map(|n| to_hex(n)).collect(),
        }
    }

    /// The bytes the signature covers: a label, the size, the root, the chain hash and the
    /// time.
    pub fn message(&self) -> Option<Vec<u8>> {
        Some(message(
            self.tree_size,
            &hash_of(&self.root_hash)?,
            &hash_of(&self.chain_hash)?,
            self.at_ms,
        ))
    }

    /// Whether `key` signed this head.
    pub fn is_signed_by(&self, key: &VerifyingKey) -> bool {
        let signature = self
            .signature
            .as_deref()
            .and_then(from_hex)
            .and_then(|bytes| Signature::from_slice(&bytes).ok());
        match (signature, self.message()) {
            (Some(signature), Some(message)) => key.verify_strict(&message, &signature).is_ok(),
            _ => false,
        }
    }

    /// The root as bytes, when it is well formed.
    pub(crate) fn root(&self) -> Option<Hash> {
        hash_of(&self.root_hash)
    }

    /// The chain hash as bytes, when it is well formed.
    pub(crate) fn chain(&self) -> Option<Hash> {
        hash_of(&self.chain_hash)
    }

    /// The stored right edge, when it matches the size.
    pub(crate) fn frontier(&self) -> Option<Frontier> {
        let nodes = self
            .frontier
            .iter()
            .map(|n| hash_of(n))
            .collect::<Option<Vec<_>>>()?;
        Frontier::from_parts(self.tree_size, nodes)
    }
}

fn message(size: u64, root: &Hash, chain: &Hash, at_ms: i64) -> Vec<u8> {
    let mut message = b"preflight-audit tree head v1\n".to_vec();
    message.extend_from_slice(&size.to_be_bytes());
    message.extend_from_slice(root);
    message.extend_from_slice(chain);
    message.extend_from_slice(&at_ms.to_be_bytes());
    message
}

pub(crate) fn hash_of(text: &str) -> Option<Hash> {
    from_hex(text).as_deref().and_then(to_hash)
}

/// One line of a witness file that is not a tree head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadLine {
    pub line: usize,
    pub message: String,
}

/// A witness file: one JSON tree head per line, appended under an exclusive lock so that
/// processes sharing a trail append in turn.
#[derive(Debug, Clone)]
pub(crate) struct Witness {
    path: PathBuf,
}

impl Witness {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file exists.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub fn exists(&self) -> bool {
        self.path.exists()
    }

    /// Every head in the file, in the order written. A last line without its newline is a
    /// write cut short by a crash, not a head, and is left out.
    pub fn read(&self) -> Result<(Vec<TreeHead>, Vec<BadLine>), AuditError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Default::default()),
            Err(e) => return Err(io_error("reading", &self.path, &e)),
        };
        let complete = text.rfind('\n').map_or("", |end| &text[..end]);
        let mut heads = Vec::new();
        let mut bad = Vec::new();
        for (index, line) in complete.lines().enumerate() {
            match serde_json::from_str::<TreeHead>(line) {
                Ok(head) => heads.push(head),
                Err(e) => bad.push(BadLine {
                    line: index + 1,
                    message: e.to_string(),
                }),
            }
        }
        Ok((heads, bad))
    }

    /// The last complete head in the file, if any.
    pub fn last(&self) -> Result<Option<TreeHead>, AuditError> {
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("opening", &self.path, &e)),
        };
        last_head(&mut file, false).map_err(|e| io_error("reading", &self.path, &e))
    }

    /// Appends a head made by `make` from the last head in the file (`None` when there is
    /// none), under the file's lock; `make` returns `None` when nothing needs appending. The
    /// line is on disk before this returns.
    pub fn append_with(
        &self,
        make: impl FnOnce(Option<TreeHead>) -> Result<Option<TreeHead>, AuditError>,
    ) -> Result<(), AuditError> {
        let fresh = !self.path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&self.path)
            .map_err(|e| io_error("opening", &self.path, &e))?;
        lock(&file).map_err(|e| io_error("locking", &self.path, &e))?;
        let last = last_head(&mut file, true).map_err(|e| io_error("reading", &self.path, &e))?;
        let Some(head) = make(last)? else {
            return Ok(());
        };
        let mut line = serde_json::to_vec(&head).map_err(|e| AuditError::Io(e.to_string()))?;
        line.push(b'\n');
        // One write: a crash leaves the line whole or a fragment without its newline.
        file.write_all(&line)
            .and_then(|()| file.sync_data())
            .map_err(|e| io_error("writing", &self.path, &e))?;
        if fresh {
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                File::open(dir)
                    .and_then(|d| d.sync_all())
                    .map_err(|e| io_error("flushing the directory of", &self.path, &e))?;
            }
        }
        Ok(())
    }
}

/// Takes the file's exclusive lock, released when the file is closed (also when the process
/// dies).
#[cfg(unix)]
fn lock(file: &File) -> std::io::Result<()> {
    rustix::fs::flock(file, rustix::fs::FlockOperation::LockExclusive).map_err(std::io::Error::from)
}

/// Without flock(2), heads from processes sharing a trail are not serialised.
#[cfg(not(unix))]
fn lock(_file: &File) -> std::io::Result<()> {
    Ok(())
}

fn io_error(what: &str, path: &Path, error: &std::io::Error) -> AuditError {
    AuditError::Io(format!("{what} the witness {}: {error}", path.display()))
}

/// The last complete, readable head of `file`, read from its end. A fragment after the last
/// newline (a write cut short) is cut off, so that the next line starts on a line of its own.
fn last_head(file: &mut File, cut_fragment: bool) -> std::io::Result<Option<TreeHead>> {
    let len = file.metadata()?.len();
    // A head with its right edge of at most 64 hashes is well under this.
    let window = len.min(16 * 1024);
    file.seek(SeekFrom::Start(len - window))?;
    let mut tail = Vec::with_capacity(usize::try_from(window).unwrap_or(0));
    file.read_to_end(&mut tail)?;
    let complete = match tail.iter().rposition(|b| *b == b'\n') {
        Some(end) => end + 1,
        None if window == len => 0,
        None => return Ok(None),
    };
    if cut_fragment && complete < tail.len() {
        file.set_len(len - window + complete as u64)?;
    }
    let text = String::from_utf8_lossy(&tail[..complete]);
    Ok(text
        .lines()
        .next_back()
        .and_then(|line| serde_json::from_str(line).ok()))
}
