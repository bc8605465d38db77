//! The `ops_agent` example, run with its scripted model: prod refused, staging escalated (and
//! denied by the reviewer), dev allowed; only the dev stack is gone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
#[path = "../examples/ops_agent/scenario.rs"]
mod scenario;

#[tokio::test]
async fn the_ops_agent_is_refused_in_prod_escalated_in_staging_and_allowed_in_dev() {
    let workspace = std::env::temp_dir().join(format!("preflight-rig-test-{}", std::process::id()));
    scenario::prepare_workspace(&workspace).unwrap();
    let report = scenario::run(scenario::ScriptedModel::model(), &workspace).await;
    std::fs::remove_dir_all(&workspace).ok();
    let report = report.unwrap();

    let proposals = report.proposals();
    let summary: Vec<(&str, &str, &str, bool, Option<bool>)> = proposals
        .iter()
        .map(|p| {
            (
                p.tool.as_str(),
                p.input["profile"].as_str().unwrap_or(""),
                p.verdict.as_str(),
                p.asked,
                p.ran,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("bash", "", "allow", false, Some(true)),
            ("aws", "prod", "deny", false, None),
            ("aws", "staging", "escalate", true, None),
            ("aws", "dev", "allow", false, Some(true)),
        ]
    );
    assert!(proposals[1].message.contains("aws.no-prod-deletes"));
    assert!(proposals[1].suggestion.is_some());
    assert_eq!(proposals[2].decision, "deny");
    assert!(proposals[2].message.contains("denied by on-call"));

    assert!(report.aws.status("prod", "cost-explorer").is_some());
    assert!(report.aws.status("staging", "cost-explorer").is_some());
    assert!(report.aws.status("dev", "cost-explorer").is_none());
    assert!(report.answer.contains("Deleted"), "{}", report.answer);
}
