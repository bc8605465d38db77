//! What the proxy does with each method a client may send, and the action a verified
//! method proposes.

use preflight_core::Action;
use serde_json::{Map, Value, json};

/// What the proxy does with a client's message, by method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Forwarded as it came: the method reads what the server publishes about itself, or is
    /// part of the protocol's housekeeping.
    Forward,
    /// Verified by the gate as an action first; forwarded only when allowed.
    Verify,
    /// Refused: the proxy does not know what the method does, so it cannot verify it.
    Refuse,
}

/// Client requests forwarded without verification.
const FORWARDED: &[&str] = &[
    "initialize",
    "ping",
    "tools/list",
    "resources/list",
    "resources/templates/list",
    "prompts/list",
    // Stops updates the client was already allowed to receive.
    "resources/unsubscribe",
    // Read the state of a task whose creating request was verified.
    "tasks/get",
    "tasks/list",
    "tasks/result",
];

/// Client requests verified before they reach the server.
const VERIFIED: &[&str] = &[
    "tools/call",
    "resources/read",
    "resources/subscribe",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "tasks/cancel",
];

/// How the proxy handles a client message with `method`. Notifications (`notifications/…`)
/// are forwarded; any method not known to be harmless or verifiable is refused.
pub fn client_method(method: &str) -> Handling {
    if method.starts_with("notifications/") || FORWARDED.contains(&method) {
        Handling::Forward
    } else if VERIFIED.contains(&method) {
        Handling::Verify
    } else {
        Handling::Refuse
    }
}

/// The tool name (after `mcp__<server>__`) under which a verified method other than
/// `tools/call` is checked. They contain `/`, which MCP tool names do not, and a
/// `tools/call` naming one of them is refused (see [`is_reserved_tool`]).
///
/// `resources/read` and `resources/subscribe` begin with `read`, so that inspection takes them
/// for reads; the others are checked under their method name, which inspection treats as an
/// unknown execution on `mcp://<server>/<method>`.
pub fn method_tool(method: &str) -> Option<&'static str> {
    Some(match method {
        "resources/read" => "read/resource",
        "resources/subscribe" => "read/resource/subscribe",
        "prompts/get" => "prompts/get",
        "completion/complete" => "completion/complete",
        "logging/setLevel" => "logging/setLevel",
        "tasks/cancel" => "tasks/cancel",
        _ => return None,
    })
}

/// Whether a server's tool named `name` would be verified under the same name as one of the
/// proxy's own methods; calls to it are refused.
pub fn is_reserved_tool(name: &str) -> bool {
    VERIFIED
        .iter()
        .filter_map(|method| method_tool(method))
        .any(|reserved| reserved.eq_ignore_ascii_case(name))
}

/// The action a verified method other than `tools/call` proposes: tool
/// `mcp__<server>__<method_tool>`, the request's params as input, and the method in
/// `context.labels["mcp.method"]`.
///
/// A resource URI of the local file system (`file:///path`, host empty or `localhost`, no
/// query or fragment) becomes the input `{"path": "/path"}`, decoded, so that inspection and
/// rules see a read of that file; when the URI holds percent escapes, both the decoded and the
/// raw path are given (`paths`), since a server may read either. Any other URI stays in the
/// input as `uri`.
pub fn action_for_method(server: &str, method: &str, params: &Value) -> Option<Action> {
    let tool = method_tool(method)?;
    let input = match method {
        "resources/read" | "resources/subscribe" => {
            let uri = params.get("uri").and_then(Value::as_str)?;
            let mut input = Map::new();
            match file_uri_paths(uri) {
                Some((decoded, None)) => {
                    input.insert("path".into(), Value::String(decoded));
                }
                Some((decoded, Some(raw))) => {
                    input.insert("paths".into(), json!([decoded, raw]));
                }
                None => {
                    input.insert("uri".into(), Value::String(uri.to_string()));
                }
            }
            Value::Object(input)
        }
        _ => match params {
            Value::Object(_) => params.clone(),
            _ => Value::Object(Map::new()),
        },
    };
    let mut action = Action::new(crate::tool_name(server, tool), input);
    action
        .context
        .labels
        .insert("mcp.method".into(), method.to_string());
    if let Some(uri) = params.get("uri").and_then(Value::as_str) {
        action
            .context
            .labels
            .insert("mcp.uri".into(), uri.to_string());
    }
    Some(action)
}

/// The local path a `file:` URI names, decoded, and the raw path as well when decoding
/// changed it; `None` when the URI is not unambiguously a local file.
fn file_uri_paths(uri: &str) -> Option<(String, Option<String>)> {
    let scheme = uri.get(..5)?;
    if !scheme.eq_ignore_ascii_case("file:") {
        return None;
    }
    let rest = &uri[5..];
    // A query or fragment is dropped by some servers and kept by others: ambiguous.
    if rest.contains(['?', '#']) {
        return None;
    }
    let path = match rest.strip_prefix("//") {
        Some(after) => {
            let at = after.find('/')?;
            let host = &after[..at];
            if !(host.is_empty() || host.eq_ignore_ascii_case("localhost")) {
                return None;
            }
            &after[at..]
        }
        None => rest,
    };
    if !path.starts_with('/') {
        return None;
    }
    if !path.contains('%') {
        return Some((path.to_string(), None));
    }
    let decoded = percent_decode(path)?;
    // An escaped separator or NUL names a different file to every reader.
    if decoded.contains('\0') || decoded.matches('/').count() != path.matches('/').count() {
        return None;
    }
    Some((decoded, Some(path.to_string())))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_forwarded_verified_or_refused() {
        assert_eq!(client_method("tools/list"), Handling::Forward);
        assert_eq!(
            client_method("notifications/initialized"),
            Handling::Forward
        );
        assert_eq!(client_method("tools/call"), Handling::Verify);
        assert_eq!(client_method("resources/read"), Handling::Verify);
        assert_eq!(client_method("prompts/get"), Handling::Verify);
        assert_eq!(client_method("tools/run"), Handling::Refuse);
        assert_eq!(client_method(""), Handling::Refuse);
        for method in VERIFIED {
            assert!(
                *method == "tools/call" || method_tool(method).is_some(),
                "{method} has no action"
            );
        }
    }

    #[test]
    fn file_uris_become_paths_and_ambiguous_ones_stay_uris() {
        let read = |uri: &str| {
            action_for_method("fs", "resources/read", &json!({ "uri": uri }))
                .unwrap()
                .input
        };
        assert_eq!(read("file:///srv/a.txt"), json!({"path": "/srv/a.txt"}));
        assert_eq!(
            read("file://localhost/srv/a.txt"),
            json!({"path": "/srv/a.txt"})
        );
        assert_eq!(
            read("file:///srv/%2E%2E/etc"),
            json!({"paths": ["/srv/../etc", "/srv/%2E%2E/etc"]})
        );
        for ambiguous in [
            "file:///srv/a?x=/../../etc",
            "file:///srv/a#b",
            "file://other/srv/a",
            "file:///srv/a%2F..%2Fb",
            "file:///srv/%00",
            "file:relative",
            "https://example.com/a",
        ] {
            assert_eq!(read(ambiguous), json!({ "uri": ambiguous }), "{ambiguous}");
        }
        let action =
            action_for_method("fs", "resources/read", &json!({"uri": "file:///x"})).unwrap();
        assert_eq!(action.tool, "mcp__fs__read/resource");
        assert_eq!(action.context.labels["mcp.method"], "resources/read");
        assert!(action_for_method("fs", "resources/read", &json!({})).is_none());
    }

    #[test]
    fn the_proxy_s_names_are_reserved() {
        assert!(is_reserved_tool("read/resource"));
        assert!(is_reserved_tool("Prompts/Get"));
        assert!(!is_reserved_tool("read_file"));
    }
}
