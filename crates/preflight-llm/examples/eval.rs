//! Scores the LLM verifier configured by `PREFLIGHT_LLM_*` on a labelled data set.
//!
//! ```text
//! # a trajectory data set in the R-Judge shape (ASSEBench, R-Judge), the first 50 records:
//! cargo run -p preflight-llm --example eval -- trajectories datasets/assebench-security.json 50
//! # a case corpus judged against an envelope file:
//! cargo run -p preflight-llm --example eval -- corpus corpus/actions.jsonl corpus/ENVELOPE.md
//! ```

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use preflight_core::FailClosed;
use preflight_core::corpus::load_cases;
use preflight_llm::LlmVerifier;
use preflight_llm::eval::{EvalItem, TRAJECTORY_ENVELOPE, evaluate, load_trajectories};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            eprintln!(
                "usage: eval trajectories FILE [LIMIT] | eval corpus FILE.jsonl ENVELOPE_FILE [LIMIT]"
            );
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &[String]) -> Result<(), String> {
    let limit = |index: usize| -> Result<usize, String> {
        args.get(index)
            .map(|t| t.parse().map_err(|_| format!("`{t}` is not a number")))
            .unwrap_or(Ok(usize::MAX))
    };
    let (items, envelope): (Vec<EvalItem>, String) = match args.first().map(String::as_str) {
        Some("trajectories") => {
            let path = args.get(1).ok_or("missing FILE")?;
            let records = load_trajectories(Path::new(path)).map_err(|e| e.to_string())?;
            let items = records
                .iter()
                .filter_map(|r| r.to_eval_item())
                .take(limit(2)?);
            (items.collect(), TRAJECTORY_ENVELOPE.to_string())
        }
        Some("corpus") => {
            let path = args.get(1).ok_or("missing FILE.jsonl")?;
            let envelope_path = args.get(2).ok_or("missing ENVELOPE_FILE")?;
            let envelope = std::fs::read_to_string(envelope_path)
                .map_err(|e| format!("{envelope_path}: {e}"))?;
            let cases = load_cases(Path::new(path)).map_err(|e| e.to_string())?;
            let items = cases.into_iter().map(EvalItem::from).take(limit(3)?);
            (items.collect(), envelope)
        }
        _ => return Err("expected `trajectories` or `corpus`".into()),
    };
    let verifier = LlmVerifier::builder()
        .from_env()
        .map_err(|e| e.to_string())?
        .envelope(envelope)
        .deadline(Duration::from_secs(120))
        .build()
        .map_err(|e| e.to_string())?;
    eprintln!("judging {} items with {}", items.len(), verifier.model());
    let mut report = evaluate(&verifier, items, 4, FailClosed::Escalate).await;
    for outcome in report.outcomes.iter().filter(|o| !o.correct) {
        eprintln!(
            "miss {}: expected {}, got {}",
            outcome.id, outcome.expect, outcome.summary
        );
    }
    report.outcomes.clear();
    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    println!("{json}");
    Ok(())
}
