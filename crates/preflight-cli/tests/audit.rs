//! `preflight audit`: keys, signed and witnessed hooks, and verify on a trail that is gone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{POLICY, run};
use serde_json::{Value, json};

fn payload(n: u64) -> String {
    json!({
        "session_id": "0b6c1a4e-5d0e-4c1e-9f3e-2a7d7c1f9a10",
        "transcript_path": "/home/dev/.claude/projects/-work-project/0b6c1a4e.jsonl",
        "cwd": "/work/project",
        "hook_event_name": "PreToolUse",
        "tool_name": "Read",
        "tool_input": {"file_path": format!("/work/project/{n}.txt")},
        "tool_use_id": format!("toolu_{n}")
    })
    .to_string()
}

/// Runs `count` hooks recording to `url`, signed with the key at `key`.
fn record_signed_hooks(url: &str, key: &str, count: u64) {
    for n in 0..count {
        let out = run(
            &["hook", "claude-code", "--policy", POLICY, "--audit", url],
            &payload(n),
            &[("PREFLIGHT_AUDIT_SIGNING_KEY", key)],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
}

#[test]
fn signed_hooks_are_witnessed_and_verify_with_the_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("audit.key");
    let key_arg = key.to_str().unwrap();
    let made = run(&["audit", "keygen", "--out", key_arg], "", &[]);
    assert_eq!(made.code, 0, "{}", made.stderr);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let public = format!("{key_arg}.pub");
    assert_eq!(std::fs::read_to_string(&public).unwrap().trim().len(), 64);
    // keygen never overwrites a key.
    assert_ne!(run(&["audit", "keygen", "--out", key_arg], "", &[]).code, 0);

    let db = dir.path().join("audit.db");
    let url = format!("sqlite://{}", db.display());
    record_signed_hooks(&url, key_arg, 3);
    let heads = std::fs::read_to_string(format!("{}.heads", db.display())).unwrap();
    assert_eq!(heads.lines().count(), 3, "one witnessed head per hook");

    let verify = run(
        &["audit", "verify", "--audit", &url, "--public-key", &public],
        "",
        &[],
    );
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
    let report: Value = serde_json::from_str(&verify.stdout).unwrap();
    assert_eq!(report["witnessed_heads"], 3);
    assert_eq!(report["trusted_key"], true);

    // Another key's public half does not verify these heads.
    let other = dir.path().join("other.key");
    run(
        &["audit", "keygen", "--out", other.to_str().unwrap()],
        "",
        &[],
    );
    let verify = run(
        &[
            "audit",
            "verify",
            "--audit",
            &url,
            "--public-key",
            &format!("{}.pub", other.display()),
        ],
        "",
        &[],
    );
    assert_eq!(verify.code, 1, "{}{}", verify.stdout, verify.stderr);
}

#[test]
fn a_record_is_proved_in_the_witnessed_tree_and_checked_offline() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("audit.key");
    let key_arg = key.to_str().unwrap();
    assert_eq!(run(&["audit", "keygen", "--out", key_arg], "", &[]).code, 0);
    let public = format!("{key_arg}.pub");
    let db = dir.path().join("audit.db");
    let url = format!("sqlite://{}", db.display());
    record_signed_hooks(&url, key_arg, 3);
    let heads = format!("{}.heads", db.display());
    let last: Value = serde_json::from_str(
        std::fs::read_to_string(&heads)
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    let size = last["tree_size"].as_u64().unwrap();
    assert!(size >= 3, "{last}");

    let prove = run(&["audit", "prove", "--audit", &url, "--seq", "2"], "", &[]);
    assert_eq!(prove.code, 0, "{}", prove.stderr);
    let proof: Value = serde_json::from_str(&prove.stdout).unwrap();
    assert_eq!(proof["leaf_index"], 1);
    assert_eq!(proof["tree_size"], size);
    assert_eq!(proof["root_hash"], last["root_hash"]);
    assert!(
        proof["audit_path"]
            .as_array()
            .is_some_and(|p| !p.is_empty())
    );
    let proof_file = dir.path().join("proof.json");
    std::fs::write(&proof_file, &prove.stdout).unwrap();

    // Checked with the heads and the public key alone: the trail is not needed.
    std::fs::rename(&db, dir.path().join("moved.db")).unwrap();
    let check = |proof: &std::path::Path, public: &str| {
        run(
            &[
                "audit",
                "check-proof",
                "--proof",
                proof.to_str().unwrap(),
                "--witness",
                &heads,
                "--public-key",
                public,
            ],
            "",
            &[],
        )
    };
    let checked = check(&proof_file, &public);
    assert_eq!(checked.code, 0, "{}{}", checked.stdout, checked.stderr);
    assert!(
        checked.stdout.contains("record 2 is in the tree"),
        "{}",
        checked.stdout
    );

    // A changed path hash, or another key, fails.
    let mut changed = proof.clone();
    let first = changed["audit_path"][0].as_str().unwrap().to_string();
    let flipped = if first.starts_with('0') { "1" } else { "0" };
    changed["audit_path"][0] = Value::from(format!("{flipped}{}", &first[1..]));
    let changed_file = dir.path().join("changed.json");
    std::fs::write(&changed_file, changed.to_string()).unwrap();
    let checked = check(&changed_file, &public);
    assert_eq!(checked.code, 1, "{}{}", checked.stdout, checked.stderr);
    let other = dir.path().join("other.key");
    run(
        &["audit", "keygen", "--out", other.to_str().unwrap()],
        "",
        &[],
    );
    let checked = check(&proof_file, &format!("{}.pub", other.display()));
    assert_eq!(checked.code, 1, "{}{}", checked.stdout, checked.stderr);
    assert!(checked.stderr.contains("signed"), "{}", checked.stderr);
}

#[test]
fn verify_never_creates_a_trail_and_names_one_its_witness_knows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let url = format!("sqlite://{}", db.display());
    let verify = run(&["audit", "verify", "--audit", &url], "", &[]);
    assert_eq!(verify.code, 2, "{}", verify.stdout);
    assert!(
        verify.stderr.contains("no audit trail"),
        "{}",
        verify.stderr
    );
    assert!(!db.exists(), "verify created the trail");
    for command in ["tail", "export"] {
        assert_eq!(run(&["audit", command, "--audit", &url], "", &[]).code, 2);
        assert!(!db.exists(), "{command} created the trail");
    }

    let witness = dir.path().join("heads.jsonl");
    let out = run(
        &[
            "hook",
            "claude-code",
            "--policy",
            POLICY,
            "--audit",
            &url,
            "--witness",
            witness.to_str().unwrap(),
        ],
        &payload(0),
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let verify = run(
        &[
            "audit",
            "verify",
            "--audit",
            &url,
            "--witness",
            witness.to_str().unwrap(),
        ],
        "",
        &[],
    );
    assert_eq!(verify.code, 2);
    assert!(
        verify
            .stderr
            .contains("the trail named by the witness is missing"),
        "{}",
        verify.stderr
    );
    assert!(!db.exists());
}

/// Hooks killed with SIGKILL at every point of a decision: every decision a hook answered is
/// on record, the trail verifies, and no answer exists without its record.
#[test]
fn hooks_killed_mid_decision_lose_no_answered_record() {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let url = format!("sqlite://{}", db.display());
    // How long one whole decision takes here: the kills are spread over up to twice that,
    // and every fifth hook is left five times as long, to finish.
    let started = std::time::Instant::now();
    let whole = run(
        &["hook", "claude-code", "--policy", POLICY, "--audit", &url],
        &payload(1_000),
        &[],
    );
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    let decision_us = u64::try_from(started.elapsed().as_micros()).unwrap();
    let mut answered = vec![1_000];
    let mut killed = 0;
    for n in 0..40u64 {
        let mut child = Command::new(common::BIN)
            .args(["hook", "claude-code", "--policy", POLICY, "--audit", &url])
            .env_remove("PREFLIGHT_AUDIT")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(payload(n).as_bytes())
            .unwrap();
        // Spread the kills over the whole decision, from start-up to the answer.
        let delay = if n % 5 == 4 {
            decision_us * 5
        } else {
            (n * 7_919) % (decision_us * 2)
        };
        std::thread::sleep(std::time::Duration::from_micros(delay));
        let _ = child.kill();
        let output = child.wait_with_output().unwrap();
        // An allow is answered by exit code 0 (deferring to the host's own rules); a killed
        // hook has no exit code at all.
        if output.status.success() {
            answered.push(n);
        } else {
            killed += 1;
        }
    }
    eprintln!("{} answered, {killed} killed", answered.len());
    // Both kinds happened, or the test shows nothing.
    assert!(
        answered.len() > 1 && killed > 0,
        "{answered:?}, {killed} killed"
    );
    let verify = run(&["audit", "verify", "--audit", &url], "", &[]);
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
    let export = run(&["audit", "export", "--audit", &url], "", &[]);
    assert_eq!(export.code, 0, "{}", export.stderr);
    for n in &answered {
        let path = format!("/work/project/{n}.txt");
        assert!(
            export.stdout.contains(&path),
            "hook {n} answered but its decision is not on record"
        );
    }
    // Every decision on record is whole: each proposal was committed with its verdict.
    let records: Vec<Value> = export
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let proposed = records
        .iter()
        .filter(|r| r["event_name"] == "preflight.proposed")
        .count();
    let verified = records
        .iter()
        .filter(|r| r["event_name"] == "preflight.verified")
        .count();
    assert_eq!(proposed, verified);
    assert!(proposed >= answered.len());
}

#[test]
fn a_malformed_proof_is_refused_naming_its_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let proof = dir.path().join("proof.json");
    std::fs::write(&proof, r#"{"leaf_index": "first"}"#).unwrap();
    let witness = dir.path().join("heads");
    std::fs::write(&witness, "").unwrap();
    let out = run(
        &[
            "audit",
            "check-proof",
            "--proof",
            proof.to_str().unwrap(),
            "--witness",
            witness.to_str().unwrap(),
        ],
        "",
        &[],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("proof.json is not an inclusion proof: field `leaf_index`"),
        "{}",
        out.stderr
    );
}
