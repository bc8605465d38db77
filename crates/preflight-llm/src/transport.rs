//! Sending one request with retries, backoff and jitter, all within one deadline.

use std::time::Duration;

use rand::Rng;
use serde_json::Value;
use tokio::time::Instant;

use crate::answer::excerpt;
use crate::error::LlmError;

/// How failed requests are retried.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// The most retries after the first attempt.
    pub max_retries: u32,
    /// The first backoff; it doubles after each attempt.
    pub initial_backoff: Duration,
    /// The longest backoff (before jitter).
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (1-based): full jitter over an exponential
    /// backoff, or the server's `Retry-After` when it asks for longer.
    pub fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exponent = attempt.saturating_sub(1).min(16);
        let ceiling = self
            .initial_backoff
            .saturating_mul(1 << exponent)
            .min(self.max_backoff);
        let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        let jittered = Duration::from_millis(rand::rng().random_range(0..=ceiling_ms));
        match retry_after {
            Some(asked) if asked > jittered => asked,
            _ => jittered,
        }
    }
}

/// A successful response body with how many attempts it took.
#[derive(Debug)]
pub(crate) struct Delivered {
    pub body: Vec<u8>,
    pub attempts: u32,
}

/// Posts `body` until a success, a permanent error, or the deadline. No attempt starts after
/// the deadline, and no attempt runs past it. An error status for which `permanent(status,
/// body)` holds is not retried (a server that rejects the request's shape answers the same
/// every time, even with a 500).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn post_json(
    client: &reqwest::Client,
    url: &str,
    headers: &[(String, String)],
    body: &Value,
    deadline: Instant,
    deadline_ms: u64,
    retry: &RetryPolicy,
    permanent: &(dyn Fn(u16, &str) -> bool + Sync),
) -> Result<Delivered, LlmError> {
    let mut attempts: u32 = 0;
    loop {
        attempts += 1;
        let mut request = client.post(url).json(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let attempt = async {
            let response = request.send().await.map_err(|e| connect_error(url, &e))?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let bytes = response.bytes().await.map_err(|e| connect_error(url, &e))?;
            if status.is_success() {
                Ok(bytes.to_vec())
            } else {
                Err((
                    LlmError::Status {
                        url: url.to_string(),
                        status: status.as_u16(),
                        body: excerpt(&String::from_utf8_lossy(&bytes)),
                    },
                    retry_after,
                ))
            }
        };
        let outcome = match tokio::time::timeout_at(deadline, attempt).await {
            Ok(outcome) => outcome,
            Err(_) => {
                return Err(LlmError::Deadline {
                    deadline_ms,
                    attempts,
                });
            }
        };
        let (error, retry_after) = match outcome {
            Ok(body) => return Ok(Delivered { body, attempts }),
            Err(failure) => failure,
        };
        let retryable = match &error {
            LlmError::Connect { .. } => true,
            LlmError::Status { status, body, .. } => {
                (*status == 429 || *status >= 500) && !permanent(*status, body)
            }
            _ => false,
        };
        if !retryable || attempts > retry.max_retries {
            return Err(error);
        }
        let wait = retry.backoff(attempts, retry_after);
        if Instant::now() + wait >= deadline {
            tracing::debug!(%error, "no retry: the backoff would pass the deadline");
            return Err(error);
        }
        tracing::debug!(%error, wait_ms = wait.as_millis() as u64, attempts, "retrying");
        tokio::time::sleep(wait).await;
    }
}

fn connect_error(url: &str, error: &reqwest::Error) -> (LlmError, Option<Duration>) {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    (
        LlmError::Connect {
            url: url.to_string(),
            message,
        },
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn backoff_stays_under_its_ceiling(attempt in 1u32..40, initial in 1u64..1000, max in 1u64..10_000) {
            let policy = RetryPolicy {
                max_retries: 3,
                initial_backoff: Duration::from_millis(initial),
                max_backoff: Duration::from_millis(max),
            };
            let wait = policy.backoff(attempt, None);
            prop_assert!(wait <= Duration::from_millis(max));
            let asked = Duration::from_millis(max + 5);
            prop_assert_eq!(policy.backoff(attempt, Some(asked)), asked);
        }
    }
}
