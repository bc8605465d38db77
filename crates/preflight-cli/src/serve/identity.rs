//! Who is calling `preflight serve`: every bearer token names the agent it belongs to, and an
//! action that claims another agent is refused.
//!
//! Tokens come from `PREFLIGHT_AGENT_TOKENS` (`agent=token,agent=token`) and from `--token`
//! (`PREFLIGHT_TOKEN`), which belongs to the agent named by `--agent`, or to no agent: then
//! an action that names an agent is refused with it.

use std::sync::Arc;

use preflight_core::{Action, same_secret};

use crate::error::CliError;

/// The variable holding `agent=token` pairs.
pub const AGENT_TOKENS: &str = "PREFLIGHT_AGENT_TOKENS";

/// The shortest token accepted.
const MIN_TOKEN_LENGTH: usize = 16;

/// The caller a token identifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The agent the token belongs to; `None` for a token that names no agent.
    pub agent: Option<Arc<str>>,
}

impl Identity {
    /// Puts the token's agent on `action`, or refuses an action that claims another agent.
    pub fn bind(&self, action: &mut Action) -> Result<(), String> {
        match (&self.agent, action.agent.id.as_deref()) {
            (Some(agent), None) => {
                action.agent.id = Some(agent.to_string());
                Ok(())
            }
            (Some(agent), Some(claimed)) if claimed == &**agent => Ok(()),
            (Some(agent), Some(claimed)) => Err(format!(
                "this token belongs to agent `{agent}`; the action claims agent `{claimed}`"
            )),
            (None, None) => Ok(()),
            (None, Some(claimed)) => Err(format!(
                "this token names no agent, so it cannot act as agent `{claimed}`: give the \
                 agent its own token in {AGENT_TOKENS}"
            )),
        }
    }
}

/// Every accepted token and whom it identifies.
#[derive(Debug, Clone, Default)]
pub struct Identities {
    tokens: Vec<(Arc<str>, Identity)>,
}

impl Identities {
    /// The tokens of `--token` (belonging to `agent`, when given) and of `agent_tokens` (the
    /// value of [`AGENT_TOKENS`]). At least one token is required; each must be at least 16
    /// characters, and no two may be equal.
    pub fn new(
        token: Option<&str>,
        agent: Option<&str>,
        agent_tokens: Option<&str>,
    ) -> Result<Self, CliError> {
        let mut identities = Identities::default();
        if let Some(token) = token {
            identities.add(token, agent, "--token or PREFLIGHT_TOKEN")?;
        }
        if let Some(pairs) = agent_tokens {
            for (n, pair) in pairs
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .enumerate()
            {
                let Some((agent, token)) = pair.split_once('=') else {
                    return Err(CliError::Config(format!(
                        "{AGENT_TOKENS}: entry {} is not `agent=token`",
                        n + 1
                    )));
                };
                let agent = agent.trim();
                if agent.is_empty() {
                    return Err(CliError::Config(format!(
                        "{AGENT_TOKENS}: entry {} names no agent",
                        n + 1
                    )));
                }
                identities.add(
                    token,
                    Some(agent),
                    &format!("{AGENT_TOKENS} entry {}", n + 1),
                )?;
            }
        }
        if identities.tokens.is_empty() {
            return Err(CliError::Config(format!(
                "no bearer token: pass --token (PREFLIGHT_TOKEN) or set {AGENT_TOKENS}"
            )));
        }
        Ok(identities)
    }

    fn add(&mut self, token: &str, agent: Option<&str>, origin: &str) -> Result<(), CliError> {
        let token = token.trim();
        if token.chars().count() < MIN_TOKEN_LENGTH {
            return Err(CliError::Config(format!(
                "the bearer token of {origin} must be at least {MIN_TOKEN_LENGTH} characters"
            )));
        }
        if self.find(token).is_some() {
            return Err(CliError::Config(format!(
                "the bearer token of {origin} is given twice"
            )));
        }
        self.tokens.push((
            Arc::from(token),
            Identity {
                agent: agent.map(Arc::from),
            },
        ));
        Ok(())
    }

    /// Whom `presented` identifies; every token is compared, in time independent of where
    /// they differ.
    pub fn find(&self, presented: &str) -> Option<&Identity> {
        let mut found = None;
        for (token, identity) in &self.tokens {
            if same_secret(presented.as_bytes(), token.as_bytes()) {
                found = Some(identity);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "token-of-agent-a-0123456789";
    const B: &str = "token-of-agent-b-0123456789";

    #[test]
    fn a_token_names_its_agent_and_refuses_another() {
        let identities =
            Identities::new(None, None, Some(&format!("infra-bot={A}, reporter={B}"))).unwrap();
        let infra = identities.find(A).unwrap();
        let mut action = Action::new("Bash", serde_json::json!({"command": "ls"}));
        infra.bind(&mut action).unwrap();
        assert_eq!(action.agent.id.as_deref(), Some("infra-bot"));
        let reporter = identities.find(B).unwrap();
        let error = reporter.bind(&mut action).unwrap_err();
        assert!(
            error.contains("`reporter`") && error.contains("`infra-bot`"),
            "{error}"
        );
        assert!(identities.find("token-of-agent-c-0123456789").is_none());
    }

    #[test]
    fn a_token_without_an_agent_cannot_claim_one() {
        let identities = Identities::new(Some(A), None, None).unwrap();
        let anonymous = identities.find(A).unwrap();
        let mut action = Action::new("Bash", serde_json::json!({"command": "ls"}));
        anonymous.bind(&mut action).unwrap();
        assert_eq!(action.agent.id, None);
        action.agent.id = Some("infra-bot".into());
        assert!(anonymous.bind(&mut action).is_err());
        let bound = Identities::new(Some(A), Some("infra-bot"), None).unwrap();
        bound.find(A).unwrap().bind(&mut action).unwrap();
    }

    #[test]
    fn weak_duplicate_or_missing_tokens_are_refused() {
        assert!(Identities::new(None, None, None).is_err());
        assert!(Identities::new(Some("short"), None, None).is_err());
        assert!(Identities::new(Some(A), None, Some(&format!("x={A}"))).is_err());
        assert!(Identities::new(None, None, Some("no-equals-sign")).is_err());
        assert!(Identities::new(None, None, Some(&format!("={A}"))).is_err());
    }
}
