//! Prints what inspection derives for each action of a JSON Lines file (or standard input),
//! as seen by the reference environments of the corpus.
//!
//! ```text
//! cargo run -p preflight-inspect --example inspect -- corpus/actions.jsonl
//! ```

use std::io::Read;

use preflight_core::Inspector;
use preflight_core::corpus::parse_cases;
use preflight_inspect::{ActionInspector, EnvironmentMarkers, Environments};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let text = match std::env::args().nth(1) {
        Some(path) => std::fs::read_to_string(path)?,
        None => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            text
        }
    };
    let envs = Environments::from_markers([
        ("prod", markers("prod", "111111111111")),
        ("staging", markers("staging", "222222222222")),
        ("dev", markers("dev", "333333333333")),
    ]);
    let inspector = ActionInspector::new(envs);
    for case in parse_cases(&text, "input")? {
        let mut action = case.action;
        if action.context.home.is_none() {
            action.context.home = Some("/home/alice".into());
        }
        let inspection = inspector.inspect(&action);
        println!("== {} ({})", case.id, case.expect);
        println!("{}", serde_json::to_string(&inspection)?);
    }
    Ok(())
}

fn markers(name: &str, account: &str) -> EnvironmentMarkers {
    EnvironmentMarkers {
        aws_profiles: vec![name.into()],
        aws_accounts: vec![account.into()],
        kube_contexts: vec![format!("{name}-cluster")],
        db_hosts: vec![format!("db.{name}.internal")],
        terraform_workspaces: vec![name.into()],
        ..EnvironmentMarkers::default()
    }
}
