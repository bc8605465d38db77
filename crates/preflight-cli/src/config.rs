//! The configuration file, and how flags and the environment override it.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::CliError;

/// The configuration file (TOML). Every key is optional; relative paths resolve from the
/// file's directory.
///
/// ```toml
/// policy = "policies/infra-bot.toml"
/// verifiers = ["rules"]            # "rules", "llm", or both (rules first)
/// agent = "claude-code"            # the agent id recorded on actions
/// audit = "sqlite://audit.db"      # or postgres://user:pass@host/db
/// approver = "none"                # "none", "terminal" or "console"
/// timeout_ms = 10000               # a deadline for verification
/// approval_timeout_secs = 600      # how long a person has to decide
/// on_failure = "deny"              # "deny" or "escalate" when a verifier fails
///
/// [serve]
/// listen = "127.0.0.1:7878"
///
/// [llm]                            # the judge, when `verifiers` names llm
/// provider = "openai"              # or "anthropic"; PREFLIGHT_LLM_* fill what is unset
/// base_url = "http://127.0.0.1:8080/v1"
/// model = "qwen2.5-7b-instruct"
/// structured_output = "json_object" # json_schema, json_object, ollama, tool, none; negotiated when unset
/// confidence_threshold = 0.8       # a less confident allow escalates
/// samples = 3                      # self-consistency: ask 3 times...
/// agreement = 1.0                  # ...and escalate unless this share agrees
/// may_loosen = false               # the judge only tightens what the rules decided
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The policy file.
    pub policy: Option<PathBuf>,
    /// The verifiers, in order.
    pub verifiers: Option<Vec<String>>,
    /// The agent id.
    pub agent: Option<String>,
    /// The audit store URL.
    pub audit: Option<String>,
    /// The approver.
    pub approver: Option<String>,
    /// The verification deadline.
    pub timeout_ms: Option<u64>,
    /// How long a person has to decide.
    pub approval_timeout_secs: Option<u64>,
    /// What a verifier failure becomes.
    pub on_failure: Option<String>,
    /// `preflight serve` settings.
    #[serde(default)]
    pub serve: ServeConfig,
    /// The LLM judge's settings.
    #[serde(default)]
    pub llm: LlmConfig,
}

/// `[llm]` in the configuration file. Unset keys fall back to the `PREFLIGHT_LLM_*`
/// environment variables, then to the judge's defaults.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    /// `openai` (any OpenAI-compatible server) or `anthropic`.
    pub provider: Option<String>,
    /// The endpoint's base URL.
    pub base_url: Option<String>,
    /// The model.
    pub model: Option<String>,
    /// How the verdict's structure is requested; negotiated when unset.
    pub structured_output: Option<String>,
    /// An allow below this confidence escalates.
    pub confidence_threshold: Option<f64>,
    /// Self-consistency: how many samples.
    pub samples: Option<u32>,
    /// Self-consistency: the share of samples that must agree.
    pub agreement: Option<f64>,
    /// Whether the judge's decision may replace the policy default even where it is less
    /// strict (default false: the judge only tightens what the rules decided).
    pub may_loosen: Option<bool>,
    /// The most tokens the judge may answer with.
    pub max_tokens: Option<u32>,
    /// The text the judge judges against, when there is no policy file to show it.
    pub envelope: Option<String>,
}

/// `[serve]` in the configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// The address to listen on.
    pub listen: Option<String>,
}

/// Which verifiers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verifiers {
    /// The policy's rules only.
    Rules,
    /// The LLM judge only.
    Llm,
    /// Rules first; the LLM judges what they leave open.
    Both,
}

impl Verifiers {
    /// Parses `rules`, `llm` or `both`.
    pub fn parse(text: &str) -> Result<Self, CliError> {
        match text.trim() {
            "rules" => Ok(Self::Rules),
            "llm" => Ok(Self::Llm),
            "both" | "rules,llm" | "rules+llm" => Ok(Self::Both),
            other => Err(CliError::Config(format!(
                "unknown verifier `{other}`; expected rules, llm or both"
            ))),
        }
    }

    fn from_list(list: &[String], origin: &str) -> Result<Self, CliError> {
        let has = |name: &str| list.iter().any(|v| v == name);
        if let Some(unknown) = list.iter().find(|v| *v != "rules" && *v != "llm") {
            return Err(CliError::Config(format!(
                "{origin}: field `verifiers`: unknown verifier `{unknown}`; expected rules or llm"
            )));
        }
        match (has("rules"), has("llm")) {
            (true, true) => Ok(Self::Both),
            (false, true) => Ok(Self::Llm),
            (true, false) => Ok(Self::Rules),
            (false, false) => Err(CliError::Config(format!(
                "{origin}: field `verifiers`: name at least one verifier"
            ))),
        }
    }
}

/// Who is asked when a verdict is escalate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApproverKind {
    /// Nobody: an escalation is refused (the hook answers `ask`, and Claude Code asks).
    None,
    /// The person at this terminal.
    Terminal,
    /// The web console (`preflight serve`), through the approval queue in the audit store.
    Console,
}

impl ApproverKind {
    /// Parses `none`, `terminal` or `console`.
    pub fn parse(text: &str) -> Result<Self, CliError> {
        match text.trim() {
            "none" => Ok(Self::None),
            "terminal" => Ok(Self::Terminal),
            "console" => Ok(Self::Console),
            other => Err(CliError::Config(format!(
                "unknown approver `{other}`; expected none, terminal or console"
            ))),
        }
    }
}

/// Settings given on the command line or in the environment; they override the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--config` / `PREFLIGHT_CONFIG`.
    pub config: Option<PathBuf>,
    /// `--policy` / `PREFLIGHT_POLICY`.
    pub policy: Option<PathBuf>,
    /// `--verifier` / `PREFLIGHT_VERIFIER`.
    pub verifier: Option<String>,
    /// `--agent` / `PREFLIGHT_AGENT`.
    pub agent: Option<String>,
    /// `--audit` / `PREFLIGHT_AUDIT`.
    pub audit: Option<String>,
    /// `--approver` / `PREFLIGHT_APPROVER`.
    pub approver: Option<String>,
    /// `--timeout-ms` / `PREFLIGHT_TIMEOUT_MS`.
    pub timeout_ms: Option<u64>,
}

/// The effective settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The policy file, when one is named.
    pub policy: Option<PathBuf>,
    /// Which verifiers run.
    pub verifiers: Verifiers,
    /// The agent id recorded on actions.
    pub agent: Option<String>,
    /// The audit store URL, when one is named.
    pub audit: Option<String>,
    /// The approver.
    pub approver: ApproverKind,
    /// The verification deadline, in milliseconds.
    pub timeout_ms: u64,
    /// How long a person has to decide, in seconds.
    pub approval_timeout_secs: u64,
    /// Escalate rather than deny when a verifier fails.
    pub escalate_on_failure: bool,
    /// `preflight serve`'s address.
    pub listen: Option<String>,
    /// The LLM judge's settings.
    pub llm: LlmConfig,
    /// The file holding the audit trail's signing key (`--signing-key`), when one is named.
    pub audit_signing_key: Option<PathBuf>,
    /// The audit trail's witness file (`--witness`), when one is named.
    pub audit_witness: Option<PathBuf>,
    /// Open the audit store for one decision (a hook process): see
    /// `AuditStoreBuilder::one_shot`.
    pub audit_one_shot: bool,
}

impl Settings {
    /// Reads the configuration file (when named) and applies the overrides.
    pub fn load(overrides: &Overrides) -> Result<Self, CliError> {
        let (file, base) = match &overrides.config {
            Some(path) => (read_file(path)?, path.parent().map(Path::to_path_buf)),
            None => (FileConfig::default(), None),
        };
        let origin = overrides
            .config
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let resolve = |path: PathBuf| match &base {
            Some(base) if path.is_relative() => base.join(path),
            _ => path,
        };
        let verifiers = match (&overrides.verifier, &file.verifiers) {
            (Some(text), _) => Verifiers::parse(text)?,
            (None, Some(list)) => Verifiers::from_list(list, &origin)?,
            (None, None) => Verifiers::Rules,
        };
        let approver = match overrides.approver.as_ref().or(file.approver.as_ref()) {
            Some(text) => ApproverKind::parse(text)?,
            None => ApproverKind::None,
        };
        let escalate_on_failure = match file.on_failure.as_deref() {
            None | Some("deny") => false,
            Some("escalate") => true,
            Some(other) => {
                return Err(CliError::Config(format!(
                    "{origin}: field `on_failure`: unknown value `{other}`; expected deny or escalate"
                )));
            }
        };
        Ok(Self {
            policy: overrides.policy.clone().or(file.policy.map(resolve)),
            verifiers,
            agent: overrides.agent.clone().or(file.agent),
            audit: overrides.audit.clone().or(file.audit),
            approver,
            timeout_ms: overrides.timeout_ms.or(file.timeout_ms).unwrap_or(10_000),
            approval_timeout_secs: file.approval_timeout_secs.unwrap_or(600),
            escalate_on_failure,
            listen: file.serve.listen,
            llm: file.llm,
            audit_signing_key: None,
            audit_witness: None,
            audit_one_shot: false,
        })
    }

    /// The policy file, or an error saying how to name one.
    pub fn require_policy(&self) -> Result<&Path, CliError> {
        self.policy.as_deref().ok_or_else(|| {
            CliError::Config(
                "no policy: pass --policy FILE, set PREFLIGHT_POLICY, or name `policy` in the \
                 configuration file"
                    .into(),
            )
        })
    }
}

fn read_file(path: &Path) -> Result<FileConfig, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::io(format!("reading {}", path.display()), e))?;
    toml::from_str(&text).map_err(|e| {
        let position = e
            .span()
            .map(|span| {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!("{line}:{column}")
            })
            .unwrap_or_else(|| "0:0".into());
        CliError::Config(format!("{}:{position}: {}", path.display(), e.message()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("preflight.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn flags_override_the_file_and_paths_resolve_from_it() {
        let (dir, path) = write(
            "policy = \"p.toml\"\nverifiers = [\"rules\", \"llm\"]\naudit = \"sqlite://a.db\"\n\
             approver = \"console\"\ntimeout_ms = 5\n",
        );
        let settings = Settings::load(&Overrides {
            config: Some(path.clone()),
            ..Overrides::default()
        })
        .unwrap();
        assert_eq!(settings.policy, Some(dir.path().join("p.toml")));
        assert_eq!(settings.verifiers, Verifiers::Both);
        assert_eq!(settings.approver, ApproverKind::Console);
        assert_eq!(settings.timeout_ms, 5);

        let settings = Settings::load(&Overrides {
            config: Some(path),
            policy: Some("/other.toml".into()),
            verifier: Some("rules".into()),
            audit: Some("sqlite://b.db".into()),
            ..Overrides::default()
        })
        .unwrap();
        assert_eq!(settings.policy, Some(PathBuf::from("/other.toml")));
        assert_eq!(settings.verifiers, Verifiers::Rules);
        assert_eq!(settings.audit.as_deref(), Some("sqlite://b.db"));
    }

    #[test]
    fn unknown_keys_name_the_file_and_line() {
        let (_dir, path) = write("policy = \"p.toml\"\npolcy = 1\n");
        let error = Settings::load(&Overrides {
            config: Some(path.clone()),
            ..Overrides::default()
        })
        .unwrap_err()
        .to_string();
        assert!(error.contains(&format!("{}:2:", path.display())), "{error}");
        assert!(error.contains("polcy"), "{error}");
    }

    #[test]
    fn bad_values_are_refused() {
        let (_dir, path) = write("[llm]\nmay_loosen = true\nsamples = 3\n");
        let settings = Settings::load(&Overrides {
            config: Some(path),
            ..Overrides::default()
        })
        .unwrap();
        assert_eq!(settings.llm.may_loosen, Some(true));
        assert_eq!(settings.llm.samples, Some(3));
        let (_dir, path) = write("[llm]\nmay_losen = true\n");
        assert!(
            Settings::load(&Overrides {
                config: Some(path),
                ..Overrides::default()
            })
            .is_err()
        );
        let (_dir, path) = write("verifiers = [\"oracle\"]\n");
        let error = Settings::load(&Overrides {
            config: Some(path),
            ..Overrides::default()
        })
        .unwrap_err()
        .to_string();
        assert!(error.contains("`verifiers`"), "{error}");
        assert!(Verifiers::parse("magic").is_err());
        assert!(ApproverKind::parse("anyone").is_err());
    }
}
