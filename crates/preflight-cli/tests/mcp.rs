//! `preflight mcp` (the real binary, a real policy) in front of the real
//! `@modelcontextprotocol/server-filesystem`, driven by rmcp's MCP client. Needs
//! `PREFLIGHT_MCP_FS_SERVER` (run `. scripts/mcp.sh`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{BIN, run};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use std::path::Path;

use serde_json::{Value, json};
use tokio::process::Command;

fn server_entry() -> Option<String> {
    // Where `scripts/mcp.sh` installs it; the variable only overrides.
    const INSTALLED: &str = "/tmp/preflight-mcp-servers/node_modules/@modelcontextprotocol/\
                             server-filesystem/dist/index.js";
    match std::env::var("PREFLIGHT_MCP_FS_SERVER") {
        Ok(path) => Some(path),
        Err(_) if Path::new(INSTALLED).is_file() => Some(INSTALLED.to_string()),
        Err(_) if std::env::var("PREFLIGHT_SKIP_EXTERNAL").as_deref() == Ok("1") => {
            eprintln!(
                "skipped: the MCP filesystem server is not installed (PREFLIGHT_SKIP_EXTERNAL=1)"
            );
            None
        }
        Err(_) => panic!(
            "the MCP filesystem server is not installed: run `scripts/mcp.sh`, set \
             PREFLIGHT_MCP_FS_SERVER, or set PREFLIGHT_SKIP_EXTERNAL=1 to skip this test"
        ),
    }
}

fn call(tool: &str, arguments: Value) -> CallToolRequestParams {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object")
    };
    CallToolRequestParams::new(tool.to_string()).with_arguments(arguments)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_enforces_the_policy_on_a_real_server() {
    let Some(entry) = server_entry() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let inside = root.join("inside");
    let outside = root.join("outside");
    std::fs::create_dir_all(&inside).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(inside.join("hello.txt"), "hello through the proxy").unwrap();
    let policy = root.join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "default = \"deny\"\n\n\
             [[rule]]\nid = \"fs-read\"\neffect = \"allow\"\ntools = [\"mcp__fs__*\"]\n\
             operations = [\"read\"]\nresources = [\"file://{0}/**\"]\n\n\
             [[rule]]\nid = \"fs-write\"\neffect = \"allow\"\ntools = [\"mcp__fs__*\"]\n\
             operations = [\"create\", \"update\"]\nresources = [\"file://{0}/**\"]\n",
            inside.display()
        ),
    )
    .unwrap();
    let audit = format!("sqlite://{}", root.join("audit.db").display());

    let mut proxy = Command::new(BIN);
    proxy
        .args([
            "mcp",
            "--policy",
            policy.to_str().unwrap(),
            "--audit",
            &audit,
        ])
        .args([
            "--server-name",
            "fs",
            "--",
            "node",
            &entry,
            root.to_str().unwrap(),
        ])
        .env_remove("PREFLIGHT_CONFIG");
    let client = ().serve(TokioChildProcess::new(proxy).unwrap()).await.unwrap();

    // tools/list is what the server says, unchanged.
    let mut direct = Command::new("node");
    direct.arg(&entry).arg(&root);
    let direct_client = ().serve(TokioChildProcess::new(direct).unwrap()).await.unwrap();
    let expected = direct_client.list_all_tools().await.unwrap();
    direct_client.cancel().await.unwrap();
    let listed = client.list_all_tools().await.unwrap();
    assert!(!listed.is_empty());
    assert_eq!(
        serde_json::to_value(&listed).unwrap(),
        serde_json::to_value(&expected).unwrap()
    );

    // A read inside the envelope returns the file.
    let result = client
        .call_tool(call(
            "read_text_file",
            json!({"path": inside.join("hello.txt")}),
        ))
        .await
        .unwrap();
    assert_ne!(result.is_error, Some(true), "{result:?}");
    let content = serde_json::to_value(&result.content).unwrap();
    assert_eq!(content[0]["text"], "hello through the proxy");

    // A write outside is refused with a tool error and never happens.
    let target = outside.join("escaped.txt");
    let result = client
        .call_tool(call("write_file", json!({"path": target, "content": "x"})))
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(true));
    let content = serde_json::to_value(&result.content).unwrap();
    let text = content[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("preflight refused this call: deny"),
        "{text}"
    );
    assert!(!target.exists());

    client.cancel().await.unwrap();

    // The audit trail holds both calls, with the server's annotations on the actions.
    let tail = run(
        &["audit", "tail", "--audit", &audit, "-n", "100", "--json"],
        "",
        &[],
    );
    assert_eq!(tail.code, 0, "{}", tail.stderr);
    let records: Vec<Value> = tail
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let proposed: Vec<&Value> = records
        .iter()
        .filter(|r| r["event"]["kind"]["type"] == "proposed")
        .collect();
    assert_eq!(proposed.len(), 2);
    assert_eq!(proposed[0]["event"]["tool"], "mcp__fs__read_text_file");
    assert_eq!(
        proposed[0]["event"]["kind"]["action"]["context"]["tool_annotations"]["readOnlyHint"],
        true
    );
    assert_eq!(
        proposed[1]["event"]["kind"]["action"]["context"]["tool_annotations"]["destructiveHint"],
        true
    );
    assert!(
        records
            .iter()
            .any(|r| r["event"]["kind"]["type"] == "completed")
    );
    assert!(
        records
            .iter()
            .any(|r| r["event"]["kind"]["type"] == "refused")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_tools_are_hidden_and_changed_tools_wait_for_a_person() {
    let Some(entry) = server_entry() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(root.join("hello.txt"), "hello").unwrap();
    let policy = root.join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "default = \"deny\"\n\n\
             [[rule]]\nid = \"no-moves\"\neffect = \"deny\"\ntools = [\"mcp__fs__move_file\"]\n\n\
             [[rule]]\nid = \"fs-read\"\neffect = \"allow\"\ntools = [\"mcp__fs__*\"]\n\
             operations = [\"read\"]\nresources = [\"file://{0}/**\"]\n",
            root.display()
        ),
    )
    .unwrap();
    let audit = format!("sqlite://{}", root.join("audit.db").display());
    let pins = root.join("pins.json");
    // A pin taken from another description of read_text_file than the server's.
    let stale = "0".repeat(64);
    std::fs::write(
        &pins,
        json!({"servers": {"fs": {"read_text_file": {"pinned": stale, "seen": stale}}}})
            .to_string(),
    )
    .unwrap();

    let mut proxy = Command::new(BIN);
    proxy
        .args([
            "mcp",
            "--policy",
            policy.to_str().unwrap(),
            "--audit",
            &audit,
        ])
        .args(["--pins", pins.to_str().unwrap(), "--hide-denied-tools"])
        .args([
            "--server-name",
            "fs",
            "--",
            "node",
            &entry,
            root.to_str().unwrap(),
        ])
        .env_remove("PREFLIGHT_CONFIG");
    let client = ().serve(TokioChildProcess::new(proxy).unwrap()).await.unwrap();
    let listed: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    assert!(listed.contains(&"read_text_file".to_string()), "{listed:?}");
    assert!(listed.contains(&"write_file".to_string()), "{listed:?}");
    assert!(!listed.contains(&"move_file".to_string()), "{listed:?}");
    // Hidden or not, the call is verified.
    let result = client
        .call_tool(call(
            "move_file",
            json!({"source": root.join("hello.txt"), "destination": root.join("moved.txt")}),
        ))
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(true));
    assert!(root.join("hello.txt").exists());

    let read = call("read_text_file", json!({"path": root.join("hello.txt")}));
    let result = client.call_tool(read.clone()).await.unwrap();
    assert_eq!(result.is_error, Some(true));
    let text = serde_json::to_value(&result.content).unwrap()[0]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.contains("changed since it was pinned"), "{text}");

    let waiting = run(
        &[
            "mcp-accept",
            "--server",
            "fs",
            "--pins",
            pins.to_str().unwrap(),
        ],
        "",
        &[],
    );
    assert_eq!(waiting.code, 0, "{}", waiting.stderr);
    assert_eq!(waiting.stdout.trim(), "read_text_file");
    let accepted = run(
        &[
            "mcp-accept",
            "--server",
            "fs",
            "--tool",
            "read_text_file",
            "--pins",
            pins.to_str().unwrap(),
        ],
        "",
        &[],
    );
    assert_eq!(accepted.code, 0, "{}", accepted.stderr);
    let result = client.call_tool(read).await.unwrap();
    assert_ne!(result.is_error, Some(true), "{result:?}");
    client.cancel().await.unwrap();

    let tail = run(
        &["audit", "tail", "--audit", &audit, "-n", "100", "--json"],
        "",
        &[],
    );
    assert!(
        tail.stdout.contains("changed since it was pinned"),
        "{}",
        tail.stdout
    );
}
