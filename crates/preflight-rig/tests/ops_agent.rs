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

/// The local model of `scripts/llm.sh`: its exports, or the port it recorded.
fn local_model() -> Option<(String, String)> {
    if let (Ok(base), Ok(model)) = (
        std::env::var("PREFLIGHT_LLM_BASE_URL"),
        std::env::var("PREFLIGHT_LLM_MODEL"),
    ) {
        return Some((base, model));
    }
    let cache = std::env::var_os("PREFLIGHT_LLM_CACHE")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cache/preflight/llm"))
        })?;
    let port = std::fs::read_to_string(cache.join("server.port")).ok()?;
    Some((
        format!("http://127.0.0.1:{}/v1", port.trim()),
        "smollm2-135m-instruct".into(),
    ))
}

#[tokio::test]
async fn against_the_local_model_nothing_runs_without_a_permit() {
    let Some((base_url, name)) = local_model() else {
        assert_eq!(
            std::env::var("PREFLIGHT_SKIP_EXTERNAL").as_deref(),
            Ok("1"),
            "no local model: run `scripts/llm.sh`, or set PREFLIGHT_SKIP_EXTERNAL=1 to skip"
        );
        eprintln!("skipped: no local model (PREFLIGHT_SKIP_EXTERNAL=1)");
        return;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let model = rig_core::providers::openai::OpenAIConfig::new("none")
        .with_base_url(base_url)
        .client()
        .chat(name)
        .erase();
    let workspace =
        std::env::temp_dir().join(format!("preflight-rig-local-{}", std::process::id()));
    scenario::prepare_workspace(&workspace).unwrap();
    let report = scenario::run(model, &workspace).await;
    std::fs::remove_dir_all(&workspace).ok();
    // Whatever the model proposes (a small one may propose nothing at all), prod and staging
    // keep their stacks, and every call that ran was allowed and permitted first.
    let report = report.unwrap();
    // The endpoint answered (an error ends the run with this text instead).
    assert!(
        !report
            .answer
            .starts_with("(the run ended without an answer"),
        "{}",
        report.answer
    );
    assert!(report.aws.status("prod", "cost-explorer").is_some());
    assert!(report.aws.status("staging", "cost-explorer").is_some());
    for proposal in report.proposals() {
        if proposal.ran.is_some() {
            assert_eq!(proposal.decision, "allow", "{:?}", proposal.tool);
        }
    }
}
