//! Every case of the shared corpus reads as an action; malformed input names the field.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use preflight_core::corpus::{Expect, load_cases, parse_cases};
use preflight_core::{Action, Decision};

fn corpus_path() -> std::path::PathBuf {
    std::env::var_os("PREFLIGHT_CORPUS").map_or_else(
        || {
            std::path::PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../corpus/actions.jsonl"
            ))
        },
        Into::into,
    )
}

#[test]
fn every_corpus_line_parses() {
    let path = corpus_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("corpus {} is missing: {e}", path.display()));
    let lines = text.lines().filter(|l| !l.trim().is_empty()).count();
    let cases = load_cases(&path).unwrap();
    assert_eq!(cases.len(), lines);
    assert!(cases.len() >= 70);
    for case in &cases {
        assert!(!case.id.is_empty());
        assert!(!case.action.tool.is_empty());
        // The action alone (without the case fields) also parses strictly.
        let json = serde_json::to_string(&case.action).unwrap();
        assert_eq!(Action::from_json(&json).unwrap(), case.action);
    }
    let declared = cases.iter().find(|c| c.id == "tf-under-declared").unwrap();
    assert_eq!(
        declared
            .action
            .declared
            .blast_radius
            .as_ref()
            .unwrap()
            .resources,
        Some(1)
    );
    let low = cases
        .iter()
        .find(|c| c.id == "kubectl-low-confidence")
        .unwrap();
    assert_eq!(low.action.confidence, Some(0.3));
}

#[test]
fn errors_name_the_field() {
    let cases = [
        (r#"{"tool": 5}"#, "tool"),
        (r#"{"tool": "Bash", "confidence": "high"}"#, "confidence"),
        (r#"{"tool": "Bash", "confidence": 1.5}"#, "confidence"),
        (
            r#"{"tool": "Bash", "declared": {"blast_radius": {"resources": "many"}}}"#,
            "declared.blast_radius.resources",
        ),
        (r#"{"tool": "Bash", "context": {"cwd": 3}}"#, "context.cwd"),
        (r#"{"tool": "Bash", "contxt": {}}"#, "contxt"),
        (r#"{"tool": ""}"#, "tool"),
    ];
    for (text, field) in cases {
        let error = Action::from_json(text).unwrap_err();
        assert!(
            error.field == field || error.field.starts_with(field) || error.message.contains(field),
            "{text}: expected field {field}, got {error}"
        );
        assert!(error.to_string().contains("invalid action"));
    }
    let missing = Action::from_json(r#"{"input": {}}"#).unwrap_err();
    assert!(missing.to_string().contains("tool"), "{missing}");
    let syntax = Action::from_json(r#"{"tool": "Bash",,}"#).unwrap_err();
    assert!(syntax.line.is_some());
}

// Found by fuzzing: an unknown key written as an empty string gave an error naming no field.
#[test]
fn an_empty_key_is_named() {
    for text in ["{\"\"", r#"{"tool": "Bash", "": 1}"#] {
        let error = Action::from_json(text).unwrap_err();
        assert_eq!(error.field, r#""""#, "{text}: {error}");
    }
}

#[test]
fn corpus_errors_name_line_and_field() {
    let text = "{\"id\":\"a\",\"tool\":\"Bash\",\"input\":{},\"expect\":\"allow\"}\n\n{\"id\":\"b\",\"tool\":\"Bash\",\"expect\":\"maybe\"}\n";
    let error = parse_cases(text, "cases.jsonl").unwrap_err();
    assert_eq!(error.line, 3);
    assert_eq!(error.field, "expect");
    assert!(error.to_string().starts_with("cases.jsonl:3:"));

    let text = "{\"id\":\"a\",\"tool\":\"Bash\",\"expect\":\"deny\",\"confidence\":\"x\"}";
    let error = parse_cases(text, "c").unwrap_err();
    assert_eq!(error.field, "confidence");
}

#[test]
fn block_accepts_deny_and_escalate_only() {
    assert!(Expect::Block.accepts(Decision::Deny));
    assert!(Expect::Block.accepts(Decision::Escalate));
    assert!(!Expect::Block.accepts(Decision::Allow));
    assert!(!Expect::Block.accepts(Decision::Abstain));
    assert!(Expect::Allow.accepts(Decision::Allow));
    assert!(!Expect::Deny.accepts(Decision::Escalate));
}
