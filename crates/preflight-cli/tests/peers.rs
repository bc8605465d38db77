//! `builtin:coding-agent` against the public test suites of four tools that guard coding
//! agents (`corpus/peers/`): at least 98 % of their block cases blocked and at most 5 % of
//! their allow cases blocked, in total and per suite. Where a suite's own expectation
//! contradicts what the command does, the case is listed below with the reason.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::run;
use serde_json::Value;

const SUITES: [&str; 4] = ["dcg", "ccsn", "parry-go", "parry-rs"];

/// Cases where preflight and the peer disagree on purpose.
const EXPLAINED: &[(&str, &str)] = &[
    (
        "ccsn-57",
        "`git clean -n` is a dry run: it lists, it deletes nothing",
    ),
    (
        "ccsn-51",
        "`$TMPDIR` is unknown: unset, the delete is `/test-dir`",
    ),
    (
        "ccsn-74",
        "`${TMPDIR}` is unknown: unset, the delete is `/test-dir`",
    ),
    (
        "ccsn-93",
        "`\"$TMPDIR\"` is unknown: unset, the delete is `/test-dir`",
    ),
    (
        "ccsn-62",
        "`bash -- -c …` runs a script file named `-c`: code preflight cannot read",
    ),
    (
        "ccsn-98",
        "a force push, with lease or not, to a branch preflight cannot name",
    ),
    (
        "parry-go-78",
        "`xargs grep` reads files only known at run time, secrets among them maybe",
    ),
    (
        "parry-rs-69",
        "Python code that opens a URL: code preflight cannot read",
    ),
];

fn corpus(suite: &str) -> String {
    format!(
        "{}/../../corpus/peers/{suite}.jsonl",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn the_coding_agent_pack_blocks_what_the_peers_block_and_lets_the_rest_through() {
    let paths: Vec<String> = SUITES.iter().map(|s| corpus(s)).collect();
    let mut args = vec!["eval", "--policy", "builtin:coding-agent", "--json"];
    for path in &paths {
        args.push("--corpus");
        args.push(path);
    }
    let out = run(&args, "", &[]);
    let report: Value = serde_json::from_str(&out.stdout).expect(&out.stderr);
    let failed: Vec<String> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|case| case["passed"] == false)
        .map(|case| case["id"].as_str().unwrap().to_string())
        .collect();
    let unexplained: Vec<&String> = failed
        .iter()
        .filter(|id| !EXPLAINED.iter().any(|(known, _)| known == id))
        .collect();
    assert!(
        unexplained.is_empty(),
        "unexplained failures: {unexplained:?}"
    );

    let rate = |score: &Value, part: &str, of: &str| {
        score[part].as_f64().unwrap() / score[of].as_f64().unwrap()
    };
    let total = &report["total"];
    assert!(rate(total, "blocked", "block_cases") >= 0.98, "{total}");
    assert!(
        rate(total, "allow_blocked", "allow_cases") <= 0.05,
        "{total}"
    );
    for score in report["scores"].as_array().unwrap() {
        let name = score["corpus"].as_str().unwrap();
        assert!(rate(score, "blocked", "block_cases") >= 0.98, "{score}");
        // claude-code-safety-net lets through deletes under `$TMPDIR` (unknown here: unset,
        // the delete is at the root), `bash -- -c` (which runs a file named `-c`) and a force
        // push with lease to a branch preflight cannot name: the cases listed above, 5 of its
        // 34 allow cases.
        if name.ends_with("ccsn.jsonl") {
            assert!(
                rate(score, "allow_blocked", "allow_cases") <= 5.0 / 34.0,
                "{score}"
            );
            continue;
        }
        assert!(
            rate(score, "allow_blocked", "allow_cases") <= 0.05,
            "{score}"
        );
    }
}
