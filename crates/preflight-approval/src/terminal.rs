//! The terminal approver: shows the request and asks `y/N`.

use std::borrow::Cow;
use std::fmt;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::sync::{Arc, Mutex};

use preflight_core::{
    Approval, ApprovalDecision, ApprovalError, ApprovalRequest, Approver, Timestamp, async_trait,
};

use crate::view::{Summary, strip_controls};

struct Io {
    input: Box<dyn BufRead + Send>,
    output: Box<dyn Write + Send>,
    interactive: bool,
    why_not: String,
}

/// Asks the person at a terminal: shows everything about the request, then `y/N`.
///
/// Anything but `y` or `yes` denies. Without a terminal (standard input redirected, no
/// `/dev/tty`) it asks nobody and fails closed with the reason, which the gate records as a
/// denial. Requests are asked one at a time.
///
/// The reader and writer are injectable ([`TerminalApprover::with_io`]) so the prompt can be
/// tested and embedded.
///
/// Cancellation: if the gate gives up (the request expired) while the person is still typing,
/// the pending read finishes in the background and its answer is discarded.
#[derive(Clone)]
pub struct TerminalApprover {
    io: Arc<Mutex<Io>>,
    identity: String,
}

impl fmt::Debug for TerminalApprover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TerminalApprover")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl TerminalApprover {
    /// Asks on the controlling terminal (`/dev/tty`), so that it works even when standard
    /// input carries data (a hook's JSON); falls back to standard input and standard error
    /// when they are a terminal. Without either, every request fails closed.
    pub fn new() -> Self {
        let identity = default_identity();
        if let Ok(tty) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
        {
            if let Ok(writer) = tty.try_clone() {
                return Self::with_io(BufReader::new(tty), writer, true).with_identity(identity);
            }
        }
        let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        let mut approver = Self::with_io(
            BufReader::new(std::io::stdin()),
            std::io::stderr(),
            interactive,
        )
        .with_identity(identity);
        if !interactive {
            approver.set_why_not(
                "no terminal to ask on (no /dev/tty and standard input is not a terminal)",
            );
        }
        approver
    }

    /// Asks on `input`/`output`. When `interactive` is false, nobody is asked and every request
    /// fails closed.
    pub fn with_io(
        input: impl BufRead + Send + 'static,
        output: impl Write + Send + 'static,
        interactive: bool,
    ) -> Self {
        Self {
            io: Arc::new(Mutex::new(Io {
                input: Box::new(input),
                output: Box::new(output),
                interactive,
                why_not: "the terminal is not interactive".into(),
            })),
            identity: default_identity(),
        }
    }

    /// The identity recorded with decisions (default: `$USER` at the terminal).
    pub fn with_identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = identity.into();
        self
    }

    fn set_why_not(&mut self, why: &str) {
        let mut io = self.io.lock().unwrap_or_else(|p| p.into_inner());
        why.clone_into(&mut io.why_not);
    }
}

impl Default for TerminalApprover {
    fn default() -> Self {
        Self::new()
    }
}

fn default_identity() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown user".into());
    format!("{user} (terminal)")
}

#[async_trait]
impl Approver for TerminalApprover {
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed("terminal")
    }

    async fn request(&self, request: &ApprovalRequest) -> Result<Approval, ApprovalError> {
        let io = Arc::clone(&self.io);
        let text = Summary::of(request).to_text(Timestamp::now());
        let expires_at = request.expires_at;
        let asked = tokio::task::spawn_blocking(move || ask(&io, &text, expires_at))
            .await
            .map_err(|e| ApprovalError::Unavailable(format!("terminal prompt failed: {e}")))??;
        let (decision, comment) = asked;
        if request.is_expired(Timestamp::now()) {
            return Err(ApprovalError::Expired);
        }
        Ok(Approval::new(request, decision, self.identity.clone()).with_comment(comment))
    }
}

fn ask(
    io: &Mutex<Io>,
    text: &str,
    expires_at: Timestamp,
) -> Result<(ApprovalDecision, String), ApprovalError> {
    let mut io = io.lock().unwrap_or_else(|p| p.into_inner());
    if !io.interactive {
        return Err(ApprovalError::Unavailable(io.why_not.clone()));
    }
    let failed = |e: std::io::Error| ApprovalError::Unavailable(format!("terminal: {e}"));
    io.output.write_all(text.as_bytes()).map_err(failed)?;
    io.output
        .write_all(b"Approve this action? [y/N] ")
        .map_err(failed)?;
    io.output.flush().map_err(failed)?;
    let mut line = String::new();
    let read = io.input.read_line(&mut line).map_err(failed)?;
    if read == 0 {
        return Err(ApprovalError::Unavailable(
            "the terminal closed before an answer".into(),
        ));
    }
    let answer = line.trim();
    let (decision, comment) = match answer.to_ascii_lowercase().as_str() {
        "y" | "yes" => (
            ApprovalDecision::Approved,
            "approved at the terminal".into(),
        ),
        "" | "n" | "no" => (ApprovalDecision::Denied, "denied at the terminal".into()),
        _ => (
            ApprovalDecision::Denied,
            format!(
                "denied at the terminal: the answer `{}` is not yes",
                strip_controls(answer)
            ),
        ),
    };
    if Timestamp::now() >= expires_at {
        // The gate has already denied it: say so, so nobody believes the answer counted.
        let _ = writeln!(
            io.output,
            "This request expired before the answer; it was denied and the answer not used."
        );
        return Err(ApprovalError::Expired);
    }
    let _ = writeln!(io.output, "{decision}.");
    Ok((decision, comment))
}
