//! An operations agent built with rig, told "the environment is broken, fix it", with a shell
//! tool, a file tool and a simulated AWS account per environment. Every tool call goes through
//! preflight: deleting the stack is denied in prod, escalated in staging (the on-call reviewer
//! denies it), and allowed in dev. The audit trail is printed at the end.
//!
//! `cargo run -p preflight-rig --example ops_agent`
//!
//! The model is scripted, unless `PREFLIGHT_LLM_BASE_URL` and `PREFLIGHT_LLM_MODEL` name an
//! OpenAI-compatible endpoint (`PREFLIGHT_LLM_API_KEY` if it needs a key).

mod scenario;

use rig_core::DynModel;
use rig_core::operation::Completion;
use rig_core::providers::openai::OpenAIConfig;

fn model() -> (DynModel<Completion>, String) {
    match (
        std::env::var("PREFLIGHT_LLM_BASE_URL"),
        std::env::var("PREFLIGHT_LLM_MODEL"),
    ) {
        (Ok(base_url), Ok(name)) => {
            // reqwest may be built without a TLS crypto provider of its own.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let key = std::env::var("PREFLIGHT_LLM_API_KEY").unwrap_or_else(|_| "none".into());
            let model = OpenAIConfig::new(key)
                .with_base_url(base_url.clone())
                .client()
                .chat(name.clone())
                .erase();
            (model, format!("{name} at {base_url}"))
        }
        _ => (scenario::ScriptedModel::model(), "scripted".into()),
    }
}

/// A call's arguments in a few words.
fn describe(input: &serde_json::Value) -> String {
    let text = |key: &str| input[key].as_str().unwrap_or_default().to_string();
    if let Some(operation) = input["operation"].as_str() {
        let stack = input["params"]["StackName"].as_str().unwrap_or_default();
        return format!("{operation} {stack} --profile {}", text("profile"));
    }
    match input["command"].as_str() {
        Some(command) => command.to_string(),
        None => text("file_path"),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let workspace = std::env::temp_dir().join(format!("preflight-ops-{}", std::process::id()));
    scenario::prepare_workspace(&workspace)?;
    let (model, name) = model();
    println!("task:  {}\nmodel: {name}\n", scenario::TASK);

    let report = scenario::run(model, &workspace).await;
    std::fs::remove_dir_all(&workspace).ok();
    let report = report?;

    for p in report.proposals() {
        let input = describe(&p.input);
        let verdict = match (p.verdict.as_str(), p.asked) {
            ("escalate", true) => format!("escalate -> {}", p.decision),
            _ => p.decision.clone(),
        };
        let ran = match p.ran {
            Some(true) => "ran",
            Some(false) => "ran, failed",
            None => "not run",
        };
        println!("{verdict:<17} {:<7} {} {input}", ran, p.tool);
        if !p.message.is_empty() {
            println!("{:26}{}", "", p.message);
        }
        if let Some(suggestion) = &p.suggestion {
            println!("{:26}suggestion: {suggestion}", "");
        }
    }
    println!("\nagent: {}", report.answer);
    for env in ["prod", "staging", "dev"] {
        let status = report.aws.status(env, "cost-explorer");
        println!(
            "  cost-explorer in {env:<8} {}",
            status.as_deref().unwrap_or("deleted")
        );
    }

    println!("\naudit trail ({} records):", report.audit.len());
    for p in report.proposals() {
        let records: Vec<&str> = report
            .audit
            .iter()
            .filter(|e| *e.proposal_id == *p.id)
            .map(|e| e.kind.type_name())
            .collect();
        let digest = report
            .audit
            .iter()
            .find(|e| *e.proposal_id == *p.id)
            .map(|e| e.digest.to_hex())
            .unwrap_or_default();
        println!(
            "  {} {}… {:<5} {}",
            p.id.get(..8).unwrap_or_default(),
            digest.get(..10).unwrap_or_default(),
            p.tool,
            records.join(" > ")
        );
    }
    Ok(())
}
