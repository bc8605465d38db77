//! Runs a few real commands in the sandbox under strace and checks what is observed and how
//! it is judged. Needs `bwrap` and `strace`; without them the tests fail, unless
//! `PREFLIGHT_SKIP_EXTERNAL=1`, when they are reported skipped.

#![allow(clippy::panic, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use preflight_inspect::ActionInspector;
use preflight_soundness::coverage::Cover;
use preflight_soundness::observe::Kind;
use preflight_soundness::sandbox::{Sandbox, missing_tools};
use preflight_soundness::{envelope_environments, inspect, judge};

fn sandbox(name: &str, timeout: Duration) -> Option<(Sandbox, PathBuf)> {
    let missing = missing_tools();
    if !missing.is_empty() {
        if std::env::var("PREFLIGHT_SKIP_EXTERNAL").as_deref() == Ok("1") {
            println!(
                "skipped: {} not installed (PREFLIGHT_SKIP_EXTERNAL=1)",
                missing.join(", ")
            );
            return None;
        }
        panic!(
            "{} not installed: run scripts/soundness.sh once, or set PREFLIGHT_SKIP_EXTERNAL=1",
            missing.join(", ")
        );
    }
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let workdir = base.join(format!(
        "preflight-soundness-test-{name}-{}",
        std::process::id()
    ));
    let sandbox = Sandbox::prepare(&workdir, timeout).expect("the sandbox template builds");
    Some((sandbox, workdir))
}

#[test]
fn a_listed_delete_and_redirect_are_observed_and_covered() {
    let Some((sandbox, _)) = sandbox("listed", Duration::from_secs(10)) else {
        return;
    };
    let command = "rm -rf node_modules && echo hi > out.txt";
    let run = sandbox.run(0, command).expect("runs");
    assert_eq!(run.status, Some(0));
    let seen = |kind: Kind, target: &str| {
        run.observed
            .iter()
            .any(|o| o.kind == kind && o.target == target)
    };
    assert!(seen(Kind::Exec, "/usr/bin/rm"), "{:#?}", run.observed);
    assert!(seen(
        Kind::Unlink,
        "/workspace/app/node_modules/lodash/index.js"
    ));
    assert!(seen(Kind::Rmdir, "/workspace/app/node_modules"));
    assert!(seen(Kind::Write, "/workspace/app/out.txt"));
    let inspector = ActionInspector::new(envelope_environments());
    let inspection = inspect(&inspector, command);
    for (observed, cover) in judge(&run.observed, &inspection) {
        assert_eq!(cover, Some(Cover::Listed), "{observed:?}");
    }
    sandbox.cleanup().expect("cleans up");
}

#[test]
fn temporary_files_are_ephemeral_and_read_only_failures_count() {
    let Some((sandbox, _)) = sandbox("ephemeral", Duration::from_secs(10)) else {
        return;
    };
    let run = sandbox
        .run(
            0,
            "t=$(mktemp); echo x > \"$t\"; rm \"$t\"; echo x > /usr/pf-x; git status >/dev/null",
        )
        .expect("runs");
    assert!(
        run.observed
            .iter()
            .any(|o| o.kind == Kind::Exec && o.target.ends_with("/mktemp"))
    );
    assert!(
        !run.observed
            .iter()
            .any(|o| o.kind.is_file() && o.target.starts_with("/tmp/tmp.")),
        "{:#?}",
        run.observed
    );
    let failed = run
        .observed
        .iter()
        .find(|o| o.target == "/usr/pf-x")
        .expect("the attempt on a read-only file system counts");
    assert_eq!(failed.errno.as_deref(), Some("EROFS"));
    // A fresh copy of the template leaves git nothing to refresh: `git status` writes nothing.
    assert!(
        !run.observed.iter().any(|o| o.target.contains("/.git/")),
        "{:#?}",
        run.observed
    );
    // Each run starts from the template again.
    let again = sandbox
        .run(0, "test -d node_modules && rm -r node_modules/lodash")
        .expect("runs");
    assert_eq!(again.status, Some(0));
    sandbox.cleanup().expect("cleans up");
}

#[test]
fn no_network_and_a_time_limit() {
    let Some((sandbox, _)) = sandbox("limits", Duration::from_secs(1)) else {
        return;
    };
    let run = sandbox.run(0, "sleep 30").expect("runs");
    assert!(run.timed_out);
    assert!(run.elapsed < Duration::from_secs(10));
    let run = sandbox
        .run(0, "exec 3<>/dev/tcp/127.0.0.1/9 || true")
        .expect("runs");
    let connect = run
        .observed
        .iter()
        .find(|o| o.kind == Kind::Connect)
        .expect("the connect attempt is observed");
    assert_eq!(connect.target, "inet:127.0.0.1:9");
    sandbox.cleanup().expect("cleans up");
}
