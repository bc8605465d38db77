//! Scopes: pattern matching and containment.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use preflight_core::{Effect, Operation, ResourcePattern, Scope, ScopeEntry};
use proptest::prelude::*;

fn pattern(text: &str) -> ResourcePattern {
    ResourcePattern::new(text)
}

#[test]
fn patterns_match_segments_and_prefixes() {
    let table = [
        ("file:///workspace/app/**", "file:///workspace/app", true),
        (
            "file:///workspace/app/**",
            "file:///workspace/app/src/main.rs",
            true,
        ),
        (
            "file:///workspace/app/**",
            "file:///workspace/application",
            false,
        ),
        (
            "file:///workspace/*/build",
            "file:///workspace/app/build",
            true,
        ),
        (
            "file:///workspace/*/build",
            "file:///workspace/a/b/build",
            false,
        ),
        ("aws://*/ec2/**", "aws://prod/ec2/i-1", true),
        ("aws://*/ec2/**", "aws://prod/s3/bucket", false),
        (
            "k8s://*/*/namespace/*",
            "k8s://prod-cluster/_/namespace/payments",
            true,
        ),
        (
            "sql://db.prod.internal/app/users",
            "sql://db.prod.internal/app/users",
            true,
        ),
        (
            "sql://db.prod.internal/app/users",
            "sql://db.prod.internal/app/users2",
            false,
        ),
    ];
    for (p, resource, expected) in table {
        assert_eq!(pattern(p).matches(resource), expected, "{p} ~ {resource}");
    }
}

#[test]
fn containment() {
    let envelope = Scope::single(ScopeEntry {
        operations: BTreeSet::from([Operation::Read, Operation::Update, Operation::Create]),
        resources: vec![
            pattern("file:///workspace/app/**"),
            pattern("file:///tmp/**"),
        ],
        environments: BTreeSet::new(),
        max_resources: Some(10),
    });
    let change = Scope::single(ScopeEntry {
        operations: BTreeSet::from([Operation::Update]),
        resources: vec![pattern("file:///workspace/app/src/**")],
        environments: BTreeSet::from(["dev".to_string()]),
        max_resources: Some(3),
    });
    assert!(envelope.contains(&change));

    let mut wider = change.clone();
    wider.entries[0].operations.insert(Operation::Delete);
    assert!(!envelope.contains(&wider));

    let mut elsewhere = change.clone();
    elsewhere.entries[0].resources = vec![pattern("file:///etc/**")];
    assert!(!envelope.contains(&elsewhere));

    let mut unlimited = change.clone();
    unlimited.entries[0].max_resources = None;
    assert!(
        !envelope.contains(&unlimited),
        "an unlimited change exceeds a limited envelope"
    );

    let mut wildcard = change.clone();
    wildcard.entries[0].resources = vec![pattern("file:///workspace/*/src/**")];
    assert!(
        !envelope.contains(&wildcard),
        "a wildcard reaching other projects is not within app"
    );

    let effect = Effect::new(Operation::Update, "file:///workspace/app/src/lib.rs");
    assert!(envelope.covers(&effect));
    assert!(!envelope.covers(&Effect::new(
        Operation::Delete,
        "file:///workspace/app/src/lib.rs"
    )));
    assert!(
        Scope::of_effects(&[effect]).entries[0].resources[0]
            .matches("file:///workspace/app/src/lib.rs")
    );
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![Just("*".to_string()), "[a-c]{1,2}"]
}

fn pattern_text() -> impl Strategy<Value = String> {
    (prop::collection::vec(segment(), 1..4), any::<bool>()).prop_map(|(segments, prefix)| {
        let body = format!("file:///{}", segments.join("/"));
        if prefix { format!("{body}/**") } else { body }
    })
}

fn resource_text() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-c]{1,2}", 1..6).prop_map(|s| format!("file:///{}", s.join("/")))
}

proptest! {
    /// If `inner` is within `outer`, every resource `inner` matches, `outer` matches too.
    #[test]
    fn within_is_sound(inner in pattern_text(), outer in pattern_text(), resources in prop::collection::vec(resource_text(), 1..20)) {
        let (inner, outer) = (pattern(&inner), pattern(&outer));
        if inner.is_within(&outer) {
            for resource in resources {
                if inner.matches(&resource) {
                    prop_assert!(outer.matches(&resource), "{:?} within {:?} but {} escapes", inner, outer, resource);
                }
            }
        }
    }

    #[test]
    fn a_pattern_is_within_itself(p in pattern_text()) {
        prop_assert!(pattern(&p).is_within(&pattern(&p)));
    }
}
