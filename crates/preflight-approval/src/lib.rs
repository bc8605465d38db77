#![doc = include_str!("../README.md")]

mod approver;
mod console;
mod error;
mod html;
mod terminal;
mod view;
mod webhook;

pub use approver::ConsoleApprover;
pub use console::{ApiDecision, Console, ConsoleBuilder};
pub use error::Error;
pub use terminal::TerminalApprover;
pub use webhook::Webhook;

/// The Content-Security-Policy every console response carries.
pub const CONTENT_SECURITY_POLICY: &str = console::CSP;
