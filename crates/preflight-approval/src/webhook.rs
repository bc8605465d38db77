//! The webhook: announces a request (Slack-compatible `text`, links back to the console).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use preflight_core::{ApprovalRequest, ApprovalStore, Timestamp};
use serde_json::{Value, json};

use crate::approver::ConsoleApprover;
use crate::error::Error;
use crate::view::{Summary, duration_text};

/// Where and how to announce requests. The person decides in the console (or through its
/// API); the message only points there.
///
/// The JSON body carries a Slack-compatible `text` (so it can go straight to a Slack or
/// Mattermost incoming webhook) plus structured fields: `request_id`, `digest`, `agent`,
/// `tool`, `environments`, `requested_at`, `expires_at` (milliseconds since the epoch),
/// `links.console`, `links.request`, `links.api` and the whole `request`.
#[derive(Clone)]
pub struct Webhook {
    url: reqwest::Url,
    console: String,
    /// The console's page: `console` itself, or `console/` when it is a site root.
    console_home: String,
    client: reqwest::Client,
    timeout: Duration,
    headers: Arc<Vec<(String, String)>>,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may embed a secret (Slack's do): show the host only.
        f.debug_struct("Webhook")
            .field("host", &self.url.host_str())
            .field("console", &self.console)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// Posts to `url`; messages link to the console at `console_url` (its public address,
    /// including the base path, such as `https://preflight.example.com/approvals`).
    pub fn new(url: &str, console_url: &str) -> Result<Self, Error> {
        let url = reqwest::Url::parse(url)
            .map_err(|e| Error::config("webhook.url", format!("not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::config("webhook.url", "must be http or https"));
        }
        let console = reqwest::Url::parse(console_url)
            .map_err(|e| Error::config("webhook.console_url", format!("not a URL: {e}")))?;
        let timeout = Duration::from_secs(10);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| Error::config("webhook", e.to_string()))?;
        let trimmed = console.as_str().trim_end_matches('/').to_string();
        let console_home = if console.path() == "/" {
            format!("{trimmed}/")
        } else {
            trimmed.clone()
        };
        Ok(Self {
            url,
            console_home,
            console: trimmed,
            client,
            timeout,
            headers: Arc::new(Vec::new()),
        })
    }

    /// Adds a header to every post (an `Authorization` the receiver expects, say).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.headers).push((name.into(), value.into()));
        self
    }

    /// How long a post may take (default 10 s); past it, delivery failed.
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Self, Error> {
        self.timeout = timeout;
        self.client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| Error::config("webhook", e.to_string()))?;
        Ok(self)
    }

    /// An approver that queues into `store`, announces through this webhook and waits for
    /// the decision made in the console serving `store`.
    pub fn approver(self, store: Arc<dyn ApprovalStore>) -> ConsoleApprover {
        ConsoleApprover::new(store).with_webhook(self)
    }

    /// The JSON body announcing `request`.
    pub fn message(&self, request: &ApprovalRequest) -> Value {
        let s = Summary::of(request);
        let link = format!("{}/requests/{}", self.console, request.id);
        let envs = if s.derived_environments.is_empty() {
            s.declared_environment
                .clone()
                .unwrap_or_else(|| "an unknown environment".into())
        } else {
            s.derived_environments.join(", ")
        };
        let mut text = format!(
            "*preflight: approval needed* — `{}` wants to run `{}` in *{}*\n",
            slack(&s.agent),
            slack(&s.tool),
            slack(&envs)
        );
        if s.hidden_characters {
            text.push_str(&format!("*{}*\n", slack(crate::view::HIDDEN_WARNING)));
        }
        if let Some(reasoning) = &s.reasoning {
            text.push_str(&format!("> {}\n", slack(reasoning).replace('\n', "\n> ")));
        }
        for effect in s.effects.iter().take(5) {
            text.push_str(&format!("• {}\n", slack(effect)));
        }
        if s.effects.len() > 5 {
            text.push_str(&format!("• … and {} more\n", s.effects.len() - 5));
        }
        text.push_str(&format!(
            "Blast radius: declared {}, derived {}{}\n",
            slack(&s.declared_blast),
            slack(&s.derived_blast),
            if s.under_declared {
                " (*exceeds the declaration*)"
            } else {
                ""
            }
        ));
        for reason in s.reasons.iter().take(3) {
            text.push_str(&format!("Why asked: {}\n", slack(reason)));
        }
        text.push_str(&format!(
            "Expires in {}. <{}|Review and decide in the console>",
            duration_text(request.expires_at.0.saturating_sub(Timestamp::now().0)),
            link
        ));
        json!({
            "text": text,
            "request_id": request.id,
            "proposal_id": request.proposal_id,
            "digest": request.digest,
            "agent": request.action.agent.id,
            "tool": request.action.tool,
            "environments": s.derived_environments,
            "requested_at": request.requested_at,
            "expires_at": request.expires_at,
            "links": {
                "console": self.console_home,
                "request": link,
                "api": format!("{}/api/requests/{}/decision", self.console, request.id),
            },
            "request": request,
        })
    }

    /// Posts the message for `request`; any failure or non-2xx answer is an error.
    pub async fn send(&self, request: &ApprovalRequest) -> Result<(), Error> {
        let failed = |message: String| Error::Webhook {
            url: self.url.host_str().unwrap_or("webhook").to_string(),
            message,
        };
        let mut post = self
            .client
            .post(self.url.clone())
            .json(&self.message(request));
        for (name, value) in self.headers.iter() {
            post = post.header(name.as_str(), value.as_str());
        }
        let response = post.send().await.map_err(|e| failed(e.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(failed(format!("answered {status}")));
        }
        Ok(())
    }
}

/// Escapes text for Slack's message format (`&`, `<`, `>`), so agent-controlled text cannot
/// forge links or mentions.
fn slack(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_text_cannot_forge_links_or_mentions() {
        let forged = slack("<https://evil.example|click> <!channel> a & b");
        assert!(!forged.contains('<') && !forged.contains('>'));
        assert!(forged.contains("&lt;!channel&gt;") && forged.contains("a &amp; b"));
    }

    #[test]
    fn bad_urls_are_refused_naming_the_setting() {
        let err = Webhook::new("not a url", "http://localhost").unwrap_err();
        assert!(err.to_string().contains("webhook.url"), "{err}");
        let err = Webhook::new("ftp://x.example/", "http://localhost").unwrap_err();
        assert!(err.to_string().contains("webhook.url"), "{err}");
        let err = Webhook::new("https://hooks.example/x", "::").unwrap_err();
        assert!(err.to_string().contains("webhook.console_url"), "{err}");
    }
}
