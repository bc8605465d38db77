#![doc = include_str!("../README.md")]

mod approve;
mod config;
mod engine;
mod error;
mod eval;
mod hosts;
mod init;
mod install;
mod mcp;
mod oversized;
mod proofs;
mod serve;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use preflight_core::Decision;
use preflight_core::visible::visible;

use crate::config::{Overrides, Settings};
use crate::engine::{Engine, to_json};
use crate::error::{CliError, EXIT_DENY, EXIT_ERROR, EXIT_ESCALATE, EXIT_OK};

/// Verify an AI agent's action against its scope policy before it has side effects.
#[derive(Debug, Parser)]
#[command(name = "preflight", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Settings shared by every command; each overrides the configuration file.
#[derive(Debug, Clone, Args)]
struct GlobalArgs {
    /// The configuration file (TOML).
    #[arg(long, global = true, env = "PREFLIGHT_CONFIG")]
    config: Option<PathBuf>,
    /// The policy file.
    #[arg(long, global = true, env = "PREFLIGHT_POLICY")]
    policy: Option<PathBuf>,
    /// Which verifiers run: rules, llm or both (rules first).
    #[arg(long, global = true, env = "PREFLIGHT_VERIFIER")]
    verifier: Option<String>,
    /// The agent id recorded on actions.
    #[arg(long, global = true, env = "PREFLIGHT_AGENT")]
    agent: Option<String>,
    /// The audit store: sqlite://path or postgres://user:pass@host/db.
    #[arg(long, global = true, env = "PREFLIGHT_AUDIT")]
    audit: Option<String>,
    /// The audit trail's ed25519 signing key file (from `preflight audit keygen`): signs the
    /// chain's head and the tree heads written to the witness.
    #[arg(
        long = "signing-key",
        global = true,
        env = "PREFLIGHT_AUDIT_SIGNING_KEY"
    )]
    signing_key: Option<PathBuf>,
    /// The witness: an append-only file of tree heads outside the database (default with a
    /// signing key and a SQLite trail: `<trail>.heads`).
    #[arg(long, global = true, env = "PREFLIGHT_AUDIT_WITNESS")]
    witness: Option<PathBuf>,
    /// Who decides escalations: none, terminal or console.
    #[arg(long, global = true, env = "PREFLIGHT_APPROVER")]
    approver: Option<String>,
    /// The verification deadline in milliseconds (default 10000).
    #[arg(long, global = true, env = "PREFLIGHT_TIMEOUT_MS")]
    timeout_ms: Option<u64>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Verify one action (JSON) and print the verdict; the exit code says the decision.
    Check {
        /// The action file, or `-` for standard input.
        #[arg(long, default_value = "-")]
        action: String,
    },
    /// Answer an agent host's pre-tool-use hook: payload on stdin, the host's answer on stdout.
    Hook {
        /// The agent host.
        #[arg(value_enum)]
        host: hosts::Host,
        /// The timeout the host runs the hook with, in seconds; the hook answers (blocking) a
        /// safe margin before it.
        #[arg(long)]
        host_timeout: Option<f64>,
        /// What an allow becomes: `defer` (the host's own permission rules still apply) or
        /// `allow` (approve explicitly).
        #[arg(long, value_enum, default_value_t)]
        allow_means: hosts::run::AllowMeans,
    },
    /// Approve an escalated hook call with the one-time code from its reason.
    Approve {
        /// The code.
        code: String,
    },
    /// Add preflight's hook to an agent host's user settings.
    Install(install::InstallArgs),
    /// Remove preflight's hook from an agent host's user settings.
    Uninstall(install::UninstallArgs),
    /// Proxy an MCP server over stdio, verifying every request with side effects.
    Mcp(mcp::McpArgs),
    /// Accept the changed description and input schema of an MCP tool (refused until then).
    McpAccept(mcp::AcceptArgs),
    /// Serve the HTTP API (and the approval console when PREFLIGHT_APPROVER_TOKENS is set).
    Serve {
        /// The address to listen on (default 127.0.0.1:7878).
        #[arg(long)]
        listen: Option<String>,
        /// A bearer token agents present; it belongs to the agent named by `--agent`, or to no
        /// agent. Give each agent its own token in PREFLIGHT_AGENT_TOKENS
        /// (`agent=token,agent=token`): a request claiming another agent is refused.
        #[arg(long, env = "PREFLIGHT_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
    /// Run labelled corpora and report per-case results, then block and allow rates per
    /// corpus and in total.
    Eval {
        /// A corpus (JSON Lines); repeat for several, each scored on its own and in total.
        #[arg(long, required_unless_present = "trajectories")]
        corpus: Vec<PathBuf>,
        /// A trajectory dataset in the R-Judge shape (datasets/assebench-security.json): the
        /// last agent action of each record is judged; label 1 must be blocked. Repeatable.
        #[arg(long)]
        trajectories: Vec<PathBuf>,
        /// At most this many cases of each file.
        #[arg(long)]
        limit: Option<usize>,
        /// Judge with the LLM: the same as `--verifier llm` (or `both` with a policy), unless
        /// `--verifier` says otherwise.
        #[arg(long)]
        llm: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Work with policy files.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Read and check the audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Write a starter policy from this machine's AWS profiles, kube contexts, Terraform
    /// workspaces and .env variable names.
    Init(init::InitArgs),
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Report problems with file:line:column; exits 1 on an error.
    Lint,
    /// Run the tests embedded in the policy; exits 1 on a failure.
    Test,
    /// Show every rule considered for an action, and why it matched or not.
    Explain {
        /// The action file, or `-` for standard input.
        #[arg(long, default_value = "-")]
        action: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the JSON Schema of policy files.
    Schema,
    /// Print a policy as written: `builtin:NAME` for a built-in pack, or a file; with no
    /// name, list the built-in packs.
    Show {
        /// `builtin:NAME` or a path; the `--policy` in effect when left out.
        name: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Print the last records.
    Tail {
        /// How many.
        #[arg(short, long, default_value_t = 20)]
        n: usize,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Check the trail: the hash chain, the Merkle tree against every head in the witness, and
    /// signatures; exits 1 when a record was altered, removed or reordered, the trail was
    /// truncated, wiped or rewritten, or an older head was replayed.
    Verify {
        /// The public key signatures are checked against (the `.pub` file keygen writes).
        #[arg(long = "public-key")]
        public_key: Option<PathBuf>,
    },
    /// Print, as JSON, the inclusion proof of record N in the tree of the last head the
    /// witness holds (RFC 9162): its leaf index and hash, the tree size, the root and the
    /// audit path, all hashes in hex.
    Prove {
        /// The record's sequence number.
        #[arg(long)]
        seq: u64,
    },
    /// Check an inclusion proof (from `audit prove`) offline against the tree heads of
    /// --witness FILE, without the trail; exits 1 when it fails.
    CheckProof {
        /// The proof, as `audit prove` prints it.
        #[arg(long)]
        proof: PathBuf,
        /// The public key the head must be signed with (the `.pub` file keygen writes).
        #[arg(long = "public-key")]
        public_key: Option<PathBuf>,
    },
    /// Write a new ed25519 key pair: the signing key to FILE (readable by its owner only)
    /// and the public key to FILE.pub.
    Keygen {
        /// Where to write the signing key.
        #[arg(long)]
        out: PathBuf,
    },
    /// Export records as JSON Lines (OpenTelemetry-style fields).
    Export {
        /// Write here instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Only this agent's records.
        #[arg(long = "filter-agent")]
        filter_agent: Option<String>,
        /// Only this tool's records.
        #[arg(long = "filter-tool")]
        filter_tool: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A hook or a check makes one decision and exits: one thread does it, without starting
    // (and stopping) a worker per core on every call.
    let one_decision = matches!(cli.command, Command::Hook { .. } | Command::Check { .. });
    let mut builder = if one_decision {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("preflight: could not start: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let is_hook = matches!(cli.command, Command::Hook { .. });
    if matches!(cli.command, Command::Hook { .. } | Command::Check { .. }) {
        // A panic must not exit with Rust's 101: Claude Code treats any code but 2 as a
        // non-blocking error and would run the tool call. Every panic is exit 2.
        std::panic::set_hook(Box::new(|info| {
            eprintln!("preflight: internal error, the action is not allowed: {info}");
            std::process::exit(i32::from(EXIT_ERROR));
        }));
    }
    let result = runtime.block_on(run(cli));
    // Do not wait for blocking reads still pending (a hook's stdin that never closed).
    runtime.shutdown_background();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            if is_hook {
                eprintln!("preflight hook refused to decide, so the tool call is blocked: {error}");
            } else {
                eprintln!("preflight: {error}");
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn overrides(global: &GlobalArgs) -> Overrides {
    Overrides {
        config: global.config.clone(),
        policy: global.policy.clone(),
        verifier: global.verifier.clone(),
        agent: global.agent.clone(),
        audit: global.audit.clone(),
        approver: global.approver.clone(),
        timeout_ms: global.timeout_ms,
    }
}

async fn run(cli: Cli) -> Result<u8, CliError> {
    let mut settings = Settings::load(&overrides(&cli.global))?;
    settings.audit_signing_key = cli.global.signing_key.clone();
    settings.audit_witness = cli.global.witness.clone();
    match cli.command {
        Command::Check { action } => check(&settings, &action).await,
        Command::Hook {
            host,
            host_timeout,
            allow_means,
        } => hosts::run::hook(&settings, host, host_timeout, allow_means).await,
        Command::Approve { code } => approve(&settings, &code).await,
        Command::Install(args) => install::install(&args, &settings),
        Command::Uninstall(args) => install::uninstall(&args),
        Command::Mcp(args) => mcp::mcp(&settings, args).await,
        Command::McpAccept(args) => mcp::accept(&settings, &args),
        Command::Serve { listen, token } => serve(&settings, listen, token).await,
        Command::Eval {
            corpus,
            trajectories,
            limit,
            llm,
            json,
        } => {
            let mut settings = settings;
            if llm && cli.global.verifier.is_none() {
                settings.verifiers = if settings.policy.is_some() {
                    config::Verifiers::Both
                } else {
                    config::Verifiers::Llm
                };
            }
            let inputs = eval::Inputs {
                corpora: corpus,
                trajectories,
                limit,
            };
            eval::run(&settings, &inputs, json).await
        }
        Command::Policy { command } => policy(&settings, command),
        Command::Audit { command } => audit(&settings, command).await,
        Command::Init(args) => init::run(&args),
    }
}

/// Writes a new ed25519 key pair: the seed to `out` (mode 0600, never overwritten) and the
/// public key to `out.pub`, each as 64 hex digits.
fn keygen(out: &std::path::Path) -> Result<u8, CliError> {
    use std::io::Read as _;
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut seed))
        .map_err(|e| CliError::io("reading /dev/urandom", e))?;
    let key = preflight_audit::SigningKey::from_bytes(&seed);
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(out)
        .map_err(|e| CliError::io(format!("creating {}", out.display()), e))?;
    writeln!(file, "{}", hex(&seed))
        .and_then(|()| file.sync_all())
        .map_err(|e| CliError::io(format!("writing {}", out.display()), e))?;
    let public = PathBuf::from(format!("{}.pub", out.display()));
    std::fs::write(
        &public,
        format!("{}\n", hex(key.verifying_key().as_bytes())),
    )
    .map_err(|e| CliError::io(format!("writing {}", public.display()), e))?;
    print(&format!(
        "signing key: {}\npublic key: {}",
        out.display(),
        public.display()
    ))?;
    Ok(EXIT_OK)
}

fn exit_code(decision: Decision) -> u8 {
    match decision {
        Decision::Allow => EXIT_OK,
        Decision::Escalate => EXIT_ESCALATE,
        Decision::Deny | Decision::Abstain => EXIT_DENY,
    }
}

pub(crate) fn print(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").map_err(|e| CliError::io("writing standard output", e))
}

async fn check(settings: &Settings, source: &str) -> Result<u8, CliError> {
    let action = match engine::read_action(source) {
        Err(CliError::Oversized { what, input }) => {
            return Err(oversized::refuse(
                settings,
                &input,
                "check",
                &what,
                settings.agent.as_deref(),
            )
            .await);
        }
        read => read?,
    };
    let engine = Engine::build(settings, false).await?;
    let decided = engine.decide(action).await?;
    if let Some(store) = &engine.audit {
        // Witness the tree head over this decision before the process exits.
        store
            .close()
            .await
            .map_err(|e| CliError::Audit(e.to_string()))?;
    }
    print(&to_json(&decided, true)?)?;
    Ok(exit_code(decided.decision))
}

async fn approve(settings: &Settings, code: &str) -> Result<u8, CliError> {
    let url = settings.audit.clone().ok_or_else(|| {
        CliError::Config(
            "no audit store: pass the hook's --audit URL or set PREFLIGHT_AUDIT".into(),
        )
    })?;
    let store = engine::open_audit(&url).await?;
    print(&approve::approve(&store, code).await?)?;
    Ok(EXIT_OK)
}

async fn serve(
    settings: &Settings,
    listen: Option<String>,
    token: Option<String>,
) -> Result<u8, CliError> {
    let identities = serve::Identities::new(
        token.as_deref(),
        settings.agent.as_deref(),
        std::env::var(serve::AGENT_TOKENS).ok().as_deref(),
    )?;
    let engine = Engine::build(settings, true).await?;
    let (Some(gate), Some(store)) = (engine.gate.clone(), engine.audit.clone()) else {
        return Err(CliError::Config("the service needs an audit store".into()));
    };
    let console = if std::env::var_os("PREFLIGHT_APPROVER_TOKENS").is_some() {
        let console = preflight_approval::Console::builder(
            Arc::new(store.clone()) as Arc<dyn preflight_core::ApprovalStore>
        )
        .with_base_path("/console")
        .with_tokens_from_env()
        .and_then(preflight_approval::ConsoleBuilder::build)
        .map_err(|e| CliError::Config(e.to_string()))?;
        Some(console.router())
    } else {
        eprintln!(
            "preflight serve: PREFLIGHT_APPROVER_TOKENS is not set; the approval console is off"
        );
        None
    };
    let listen = listen
        .or_else(|| settings.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:7878".into());
    serve::run(serve::router(gate, identities, store, console), &listen).await?;
    Ok(EXIT_OK)
}

pub(crate) fn mark(passed: bool) -> &'static str {
    if passed { "ok  " } else { "FAIL" }
}

/// Prints one line per result, then the `N passed, N failed` line that ends every report.
pub(crate) fn print_results(
    lines: impl Iterator<Item = String>,
    passed: usize,
    failed: usize,
) -> Result<(), CliError> {
    let mut lines: Vec<String> = lines.collect();
    lines.push(format!("{passed} passed, {failed} failed"));
    print(&lines.join("\n"))
}

pub(crate) fn exit_for_failures(failed: usize) -> u8 {
    if failed == 0 { EXIT_OK } else { EXIT_DENY }
}

fn policy(settings: &Settings, command: PolicyCommand) -> Result<u8, CliError> {
    match command {
        PolicyCommand::Show { name } => {
            match name.as_deref().or(settings.policy.as_deref()) {
                Some(name) => print(engine::policy_text(name)?.trim_end())?,
                None => {
                    let names: Vec<String> = preflight_rules::packs::names()
                        .map(|n| format!("{}{n}", preflight_rules::packs::PREFIX))
                        .collect();
                    print(&names.join("\n"))?;
                }
            }
            Ok(EXIT_OK)
        }
        PolicyCommand::Schema => {
            print(&to_json(&preflight_rules::policy_schema(), true)?)?;
            Ok(EXIT_OK)
        }
        PolicyCommand::Lint => {
            let path = settings.require_policy()?;
            let findings =
                preflight_rules::lint_str(&engine::policy_text(path)?, &path.to_string_lossy());
            let errors = findings
                .iter()
                .filter(|f| f.severity == preflight_rules::Severity::Error)
                .count();
            let warnings = findings
                .iter()
                .filter(|f| f.severity == preflight_rules::Severity::Warning)
                .count();
            let mut lines: Vec<String> = findings.iter().map(ToString::to_string).collect();
            lines.push(format!("{errors} errors, {warnings} warnings"));
            print(&lines.join("\n"))?;
            Ok(if errors == 0 { EXIT_OK } else { EXIT_DENY })
        }
        PolicyCommand::Test => {
            let policy = engine::load_policy(settings.require_policy()?)?;
            let report = preflight_rules::run_policy_tests(&policy);
            let lines = report.results.iter().map(|result| {
                format!(
                    "{} {} (line {}): expected {}, got {} — {}",
                    mark(result.passed),
                    result.name,
                    result.line,
                    result.expect,
                    result.decision,
                    result.message
                )
            });
            print_results(lines, report.passed, report.failed)?;
            Ok(exit_for_failures(report.failed))
        }
        PolicyCommand::Explain { action, json } => {
            let policy = engine::load_policy(settings.require_policy()?)?;
            let action = engine::read_action(&action)?;
            let explanation = preflight_rules::explain(&policy, &action);
            if json {
                print(&to_json(&explanation, true)?)?;
            } else {
                let mut lines = vec![format!("verdict: {}", explanation.verdict.summary())];
                for effect in &explanation.effects {
                    lines.push(format!("effect: {} {}", effect.operation, effect.resource));
                }
                for rule in &explanation.rules {
                    let state = if rule.matched {
                        "matched"
                    } else if rule.applies {
                        "did not match"
                    } else {
                        "does not apply"
                    };
                    let why = rule
                        .checks
                        .iter()
                        .find_map(|c| c.failed.clone())
                        .map(|f| format!(" (failed: {f})"))
                        .unwrap_or_default();
                    lines.push(format!(
                        "rule {} [{:?}] line {}: {state}{why}",
                        rule.id, rule.effect, rule.line
                    ));
                }
                print(&lines.join("\n"))?;
            }
            Ok(exit_code(explanation.verdict.decision))
        }
    }
}

async fn audit(settings: &Settings, command: AuditCommand) -> Result<u8, CliError> {
    if let AuditCommand::Keygen { out } = &command {
        return keygen(out);
    }
    // Checking a proof needs the heads alone, never the trail.
    if let AuditCommand::CheckProof { proof, public_key } = &command {
        return proofs::check(
            proof,
            settings.audit_witness.as_deref(),
            public_key.as_deref(),
        );
    }
    let url = settings.audit.clone().ok_or_else(|| {
        CliError::Config("no audit store: pass --audit URL or set PREFLIGHT_AUDIT".into())
    })?;
    // Reading a trail never creates one: a missing trail is an error, not an empty trail.
    let store = engine::open_audit_with(settings, &url, true).await?;
    let audit_error = |e: preflight_audit::AuditError| CliError::Audit(e.to_string());
    match command {
        AuditCommand::Tail { n, json } => {
            let records = store.tail(n).await.map_err(audit_error)?;
            let mut lines = Vec::with_capacity(records.len());
            for record in &records {
                if json {
                    lines.push(to_json(record, false)?);
                } else {
                    lines.push(format!(
                        "{:>6} {} {} {} {}{}",
                        record.seq,
                        record.event.proposal_id,
                        visible(record.event.agent.as_deref().unwrap_or("-")),
                        visible(&record.event.tool),
                        record.event.kind.type_name(),
                        record.decision.map(|d| format!(" {d}")).unwrap_or_default()
                    ));
                }
            }
            if !lines.is_empty() {
                print(&lines.join("\n"))?;
            }
            Ok(EXIT_OK)
        }
        AuditCommand::Keygen { .. } | AuditCommand::CheckProof { .. } => Ok(EXIT_OK),
        AuditCommand::Prove { seq } => proofs::prove(&store, seq).await,
        AuditCommand::Verify { public_key } => {
            let report = match public_key {
                Some(path) => {
                    let key = engine::read_public_key_file(&path)?;
                    store.verify_with_key(Some(&key)).await
                }
                None => store.verify().await,
            }
            .map_err(audit_error)?;
            print(&to_json(&report, true)?)?;
            Ok(if report.is_intact() {
                EXIT_OK
            } else {
                EXIT_DENY
            })
        }
        AuditCommand::Export {
            output,
            filter_agent,
            filter_tool,
        } => {
            let mut filter = preflight_audit::Filter::new();
            if let Some(agent) = filter_agent {
                filter = filter.with_agent(agent);
            }
            if let Some(tool) = filter_tool {
                filter = filter.with_tool(tool);
            }
            match output {
                Some(path) => {
                    let file = std::fs::File::create(&path)
                        .map_err(|e| CliError::io(format!("creating {}", path.display()), e))?;
                    let mut writer = std::io::BufWriter::new(file);
                    store
                        .export_jsonl(&mut writer, &filter)
                        .await
                        .map_err(audit_error)?;
                    writer
                        .flush()
                        .map_err(|e| CliError::io(format!("writing {}", path.display()), e))?;
                }
                None => {
                    let mut buffer = Vec::new();
                    store
                        .export_jsonl(&mut buffer, &filter)
                        .await
                        .map_err(audit_error)?;
                    std::io::stdout()
                        .write_all(&buffer)
                        .map_err(|e| CliError::io("writing standard output", e))?;
                }
            }
            Ok(EXIT_OK)
        }
    }
}
