//! The action digest identifies exactly one action.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use preflight_core::Action;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-z0-9 ~/.*-]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Re-serializes an object with its keys in reverse order, at every level.
fn reversed(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| b.0.cmp(a.0));
            let body: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), reversed(v)))
                .collect();
            format!("{{{}}}", body.join(","))
        }
        Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(reversed).collect::<Vec<_>>().join(",")
            )
        }
        other => other.to_string(),
    }
}

fn action_json(input: Value, reasoning: &str) -> Value {
    json!({
        "tool": "Bash",
        "input": input,
        "reasoning": reasoning,
        "context": {"cwd": "/workspace/app", "labels": {"team": "infra", "run": "7"}},
        "declared": {"environment": "dev", "blast_radius": {"resources": 1}},
        "confidence": 0.9,
        "agent": {"id": "infra-bot", "on_behalf_of": "alice@example.com"}
    })
}

proptest! {
    #[test]
    fn stable_under_field_reordering(input in json_value(), reasoning in ".{0,20}") {
        let doc = action_json(input, &reasoning);
        let forward = Action::from_json(&doc.to_string()).unwrap();
        let backward = Action::from_json(&reversed(&doc)).unwrap();
        prop_assert_eq!(forward.digest(), backward.digest());
    }

    #[test]
    fn changes_when_the_input_changes(input in json_value(), other in json_value()) {
        prop_assume!(input != other);
        let a = Action::from_json(&action_json(input, "r").to_string()).unwrap();
        let b = Action::from_json(&action_json(other, "r").to_string()).unwrap();
        prop_assert_ne!(a.digest(), b.digest());
    }
}

// Found by fuzzing: a number parsed a hair off its nearest value was written back as a
// different number, so an action read back from its own JSON had another digest.
#[test]
fn stable_through_its_own_json() {
    for text in [
        r#"{"tool":"m","input":4444444444447444441.0}"#,
        r#"{"tool":"m","input":[0.1, 2.2250738585072014e-308, 1.7976931348623157e308, 9007199254740993.0]}"#,
        r#"{"tool":"m","input":{"a": 0.30000000000000004, "b": 123456789.12345678}, "confidence": 0.1000000000000000055511151231257827}"#,
    ] {
        let action = Action::from_json(text).unwrap();
        let again = Action::from_json(&serde_json::to_string(&action).unwrap()).unwrap();
        assert_eq!(action, again, "{text}");
        assert_eq!(action.digest(), again.digest(), "{text}");
    }
}

#[test]
fn changes_when_any_field_changes() {
    let base = action_json(json!({"command": "rm -rf build"}), "clean");
    let digest = Action::from_value(base.clone()).unwrap().digest();
    let edits: Vec<(&str, Value)> = vec![
        ("/tool", json!("Write")),
        ("/input/command", json!("rm -rf build/")),
        ("/reasoning", json!("clean up")),
        ("/context/cwd", json!("/workspace")),
        ("/context/labels/run", json!("8")),
        ("/declared/environment", json!("prod")),
        ("/declared/blast_radius/resources", json!(2)),
        ("/confidence", json!(0.91)),
        ("/agent/id", json!("other-bot")),
        ("/agent/on_behalf_of", json!("bob@example.com")),
    ];
    for (pointer, value) in edits {
        let mut edited = base.clone();
        *edited.pointer_mut(pointer).unwrap() = value;
        let other = Action::from_value(edited).unwrap().digest();
        assert_ne!(digest, other, "editing {pointer} must change the digest");
    }
    // Adding a field that was absent changes it too.
    let mut added = base.clone();
    added
        .as_object_mut()
        .unwrap()
        .insert("task".into(), json!("fix the build"));
    assert_ne!(digest, Action::from_value(added).unwrap().digest());
}

#[test]
fn digest_round_trips_as_hex() {
    let digest = Action::new("Read", json!({"file_path": "/tmp/x"})).digest();
    let hex = digest.to_hex();
    assert_eq!(hex.len(), 64);
    assert_eq!(preflight_core::ActionDigest::from_hex(&hex), Some(digest));
    assert_eq!(preflight_core::ActionDigest::from_hex("zz"), None);
    let _ = Map::<String, Value>::new();
}
