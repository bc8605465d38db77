//! Generated policies for comparing preflight-rules with cedar-policy: `n` allow rules of the
//! shape "agent A may use tool T on resources under prefix P, with a numeric limit in a
//! condition", plus three deny rules, written once for each engine.

use std::fmt::Write as _;

/// The agent of allow rule `i`.
pub fn agent(i: usize) -> String {
    format!("agent-{}", i % 100)
}

/// The tool of allow rule `i`.
pub fn tool(i: usize) -> String {
    format!("tool-{}", (i / 100) % 100)
}

/// The resource prefix of allow rule `i` (a directory, without the trailing `/`).
pub fn prefix(i: usize) -> String {
    format!("file:///data/tenant-{i}")
}

/// The numeric limit of allow rule `i`.
pub fn limit(i: usize) -> usize {
    100 + i % 7
}

/// The rule the query matches: near the end.
pub fn target(n: usize) -> usize {
    n.saturating_sub(2)
}

/// The resource the query touches.
pub fn query_resource(n: usize) -> String {
    format!("{}/reports/q3.csv", prefix(target(n)))
}

/// The preflight policy (TOML).
pub fn preflight_policy(n: usize) -> String {
    let mut text = String::from(
        "[environments.prod]\naws_profiles = [\"prod\"]\n\n\
         [[rule]]\nid = \"deny-secrets\"\neffect = \"deny\"\ntags = [\"secret\"]\n\n\
         [[rule]]\nid = \"deny-prod-deletes\"\neffect = \"deny\"\noperations = [\"delete\"]\nenvironments = [\"prod\"]\n\n\
         [[rule]]\nid = \"deny-etc\"\neffect = \"deny\"\nresources = [\"file:///etc/**\"]\n\n",
    );
    for i in 0..n {
        let _ = write!(
            text,
            "[[rule]]\nid = \"r{i}\"\neffect = \"allow\"\nagents = [\"{}\"]\ntools = [\"{}\"]\n\
             resources = [\"{}/**\"]\ncondition = \"input.amount <= {}\"\n\n",
            agent(i),
            tool(i),
            prefix(i),
            limit(i)
        );
    }
    text
}

/// The three Cedar deny rules.
pub fn cedar_denies() -> String {
    "forbid(principal, action, resource) when { context.secret };\n\
     forbid(principal, action, resource) when { context.operation == \"delete\" && context.environment == \"prod\" };\n\
     forbid(principal, action, resource) when { context.path like \"file:///etc/*\" };\n"
        .to_string()
}

/// Cedar allow rule `i`.
pub fn cedar_rule(i: usize) -> String {
    format!(
        "permit(principal == Agent::\"{}\", action == Action::\"{}\", resource) when {{ context.path like \"{}/*\" && context.amount <= {} }};\n",
        agent(i),
        tool(i),
        prefix(i),
        limit(i)
    )
}

/// The whole Cedar policy set, as text.
pub fn cedar_policy(n: usize) -> String {
    let mut text = cedar_denies();
    for i in 0..n {
        text.push_str(&cedar_rule(i));
    }
    text
}
