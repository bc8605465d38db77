//! Input past [`MAX_INPUT_BYTES`]: refused, and recorded by its size, SHA-256 digest and a
//! short preview. Past the limit the input is only counted and hashed as it streams by, so
//! memory stays bounded whatever is sent, and the audit trail never holds the input itself.

use preflight_audit::AuditStore;
use preflight_core::visible::visible;
use preflight_core::{Action, AuditEvent, AuditKind, Decision};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::engine::MAX_INPUT_BYTES;
use crate::error::CliError;

/// How much of a refused input its record shows, in bytes (after hidden characters are
/// written out).
pub const PREVIEW_BYTES: usize = 512;

/// How much of an oversized input is read, counted and hashed before reading stops: an input
/// that never ends must not keep the process busy either.
pub const MAX_DRAINED_BYTES: u64 = 16 * MAX_INPUT_BYTES;

/// The tool recorded for a refused input: it was never parsed, so its tool is not known.
const UNKNOWN_TOOL: &str = "unknown";

/// An input being read: kept whole up to [`MAX_INPUT_BYTES`], past it only counted, hashed
/// and its first bytes kept.
#[derive(Debug, Default)]
pub struct BoundedInput {
    kept: Vec<u8>,
    overflow: Option<Overflow>,
}

#[derive(Debug)]
struct Overflow {
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
}

impl BoundedInput {
    /// Takes the next bytes of the input; `false` once [`MAX_DRAINED_BYTES`] were read, when
    /// the reader should stop.
    pub fn push(&mut self, chunk: &[u8]) -> bool {
        match &mut self.overflow {
            Some(overflow) => {
                overflow.hasher.update(chunk);
                overflow.size += chunk.len() as u64;
            }
            None if (self.kept.len() + chunk.len()) as u64 > MAX_INPUT_BYTES => {
                // Past the limit: what was kept is hashed, then let go.
                let mut head = std::mem::take(&mut self.kept);
                let mut hasher = Sha256::new();
                hasher.update(&head);
                hasher.update(chunk);
                let size = (head.len() + chunk.len()) as u64;
                head.truncate(PREVIEW_BYTES);
                let wanted = PREVIEW_BYTES - head.len();
                head.extend_from_slice(&chunk[..wanted.min(chunk.len())]);
                head.shrink_to_fit();
                self.overflow = Some(Overflow { hasher, size, head });
            }
            None => self.kept.extend_from_slice(chunk),
        }
        self.overflow
            .as_ref()
            .is_none_or(|overflow| overflow.size < MAX_DRAINED_BYTES)
    }

    /// The input, or what is kept of it when it passed the limit; `ended`: it was read to its
    /// end (else its size and digest cover only the bytes read).
    pub fn finish(self, ended: bool) -> Result<Vec<u8>, Box<Oversized>> {
        let Some(overflow) = self.overflow else {
            return Ok(self.kept);
        };
        Err(Box::new(Oversized {
            size: overflow.size,
            whole: ended,
            sha256: preflight_core::to_hex(&overflow.hasher.finalize()),
            preview: preview(&overflow.head),
        }))
    }
}

/// What is kept of an input refused for its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oversized {
    /// The bytes read: all of them, or the first [`MAX_DRAINED_BYTES`] when reading stopped.
    pub size: u64,
    /// Whether `size` and `sha256` cover the whole input.
    pub whole: bool,
    /// SHA-256 of the bytes read, as hex.
    pub sha256: String,
    /// The first bytes, hidden characters written out, at most [`PREVIEW_BYTES`] long.
    pub preview: String,
}

impl Oversized {
    /// `what` (`standard input`, `the body`, …), its size and the limit, for a refusal.
    pub fn message(&self, what: &str) -> String {
        let size = if self.whole {
            format!("{} bytes", self.size)
        } else {
            format!("more than {} bytes", self.size)
        };
        format!(
            "{what} is {size}, larger than the limit of {MAX_INPUT_BYTES} bytes; it is refused \
             and the action must not run"
        )
    }

    /// The records of the refusal: the proposal, as the size, digest and preview of the input
    /// `source` received, and the refusal itself, a deny saying `message`.
    pub fn events(&self, source: &str, agent: Option<&str>, message: &str) -> Vec<AuditEvent> {
        let digest_of = if self.whole {
            "the whole input".to_string()
        } else {
            format!("its first {} bytes", self.size)
        };
        let mut action = Action::new(
            UNKNOWN_TOOL,
            json!({"oversized": {
                "limit": MAX_INPUT_BYTES,
                "size": self.size,
                "whole": self.whole,
                "sha256": self.sha256,
                "sha256_of": digest_of,
                "preview": self.preview,
            }}),
        );
        action.agent.id = agent.map(String::from);
        action
            .context
            .labels
            .insert("preflight.input".into(), source.into());
        AuditEvent::proposal(
            action,
            [AuditKind::Refused {
                decision: Decision::Deny,
                message: message.to_string(),
            }],
        )
    }

    /// Appends the refusal's records to `store`; returns once they are durable.
    pub async fn record(
        &self,
        store: &AuditStore,
        source: &str,
        agent: Option<&str>,
        message: &str,
    ) -> Result<(), CliError> {
        store
            .append_events(&self.events(source, agent, message))
            .await
            .map_err(|e| CliError::Audit(e.to_string()))
    }
}

/// The refusal of an oversized input to a command (`check`, `hook`) for `agent`: recorded in
/// the audit store when one is configured, and returned as the command's error either way.
pub async fn refuse(
    settings: &Settings,
    input: &Oversized,
    source: &str,
    what: &str,
    agent: Option<&str>,
) -> CliError {
    let message = input.message(what);
    let Some(url) = &settings.audit else {
        return CliError::Input(message);
    };
    // One record and the process exits: written durably by the caller, as a hook's are.
    let mut settings = settings.clone();
    settings.audit_one_shot = true;
    let recorded = match crate::engine::open_audit_with(&settings, url, false).await {
        Ok(store) => {
            let appended = input.record(&store, source, agent, &message).await;
            let closed = store
                .close()
                .await
                .map_err(|e| CliError::Audit(e.to_string()));
            appended.and(closed)
        }
        Err(error) => Err(error),
    };
    match recorded {
        Ok(()) => CliError::Input(message),
        Err(error) => CliError::Input(format!("{message} (and it could not be recorded: {error})")),
    }
}

/// Reads `reader` to its end, or until [`MAX_DRAINED_BYTES`] of an oversized input.
pub fn read(mut reader: impl std::io::Read) -> std::io::Result<Result<Vec<u8>, Box<Oversized>>> {
    let mut input = BoundedInput::default();
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => return Ok(input.finish(true)),
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if !input.push(&buffer[..read]) {
            return Ok(input.finish(false));
        }
    }
}

/// The first bytes of `head` as text, hidden characters written out, cut to at most
/// [`PREVIEW_BYTES`] at a character (never inside an escape).
fn preview(head: &[u8]) -> String {
    let text = String::from_utf8_lossy(head);
    let mut out = String::with_capacity(PREVIEW_BYTES);
    let mut buffer = [0; 4];
    for c in text.chars() {
        let shown = visible(c.encode_utf8(&mut buffer));
        if out.len() + shown.len() > PREVIEW_BYTES {
            break;
        }
        out.push_str(&shown);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oversized(input: &[u8], chunk: usize) -> Oversized {
        let mut bounded = BoundedInput::default();
        for piece in input.chunks(chunk) {
            assert!(bounded.push(piece));
        }
        *bounded.finish(true).unwrap_err()
    }

    #[test]
    fn input_within_the_limit_is_kept_whole() {
        let mut bounded = BoundedInput::default();
        let input = vec![b'x'; usize::try_from(MAX_INPUT_BYTES).unwrap()];
        for piece in input.chunks(1000) {
            assert!(bounded.push(piece));
        }
        assert_eq!(bounded.finish(true).unwrap(), input);
    }

    #[test]
    fn past_the_limit_only_the_size_digest_and_preview_are_kept() {
        let input: Vec<u8> = (0..(2 * MAX_INPUT_BYTES + 7))
            .map(|i| b'a' + (i % 26) as u8)
            .collect();
        let expected = preflight_core::to_hex(&Sha256::digest(&input));
        // However the input is cut into reads.
        for chunk in [1000, 4096, 1 << 20, input.len()] {
            let kept = oversized(&input, chunk);
            assert_eq!(kept.size, input.len() as u64);
            assert!(kept.whole);
            assert_eq!(kept.sha256, expected);
            assert_eq!(kept.preview.as_bytes(), &input[..PREVIEW_BYTES]);
        }
    }

    #[test]
    fn the_preview_writes_out_hidden_characters_within_its_bound() {
        let mut input = "rm \u{202E}\u{1B}[2J ".repeat(200).into_bytes();
        input.resize(usize::try_from(MAX_INPUT_BYTES).unwrap() + 1, b'x');
        let kept = oversized(&input, 4096);
        assert!(kept.preview.len() <= PREVIEW_BYTES);
        assert!(
            kept.preview.starts_with("rm \\u{202E}\\u{001B}[2J rm "),
            "{}",
            kept.preview
        );
        assert!(!preflight_core::visible::has_hidden(&kept.preview));
    }

    #[test]
    fn reading_stops_after_the_drain_bound_and_says_so() {
        let endless = std::io::repeat(b'y');
        let kept = *read(endless).unwrap().unwrap_err();
        assert!(!kept.whole);
        assert!(kept.size >= MAX_DRAINED_BYTES);
        assert!(kept.message("standard input").contains("more than"));
        assert!(
            kept.message("standard input")
                .contains("limit of 1048576 bytes")
        );
        let events = kept.events("check", Some("bot"), "refused");
        let AuditKind::Proposed { action, .. } = &events[0].kind else {
            panic!("{events:?}");
        };
        assert_eq!(action.input["oversized"]["whole"], false);
        assert!(matches!(
            events[1].kind,
            AuditKind::Refused {
                decision: Decision::Deny,
                ..
            }
        ));
    }
}
