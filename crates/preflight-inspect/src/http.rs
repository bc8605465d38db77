//! HTTP requests, GraphQL mutations included.

use preflight_core::{Effect, Inspection, Operation};
use serde_json::Value;

use crate::effects::{attr, opaque, tag};
use crate::{Environments, derive_blast_radius};

/// Words in a GraphQL mutation's name that make it destructive.
const DESTRUCTIVE_WORDS: &[&str] = &[
    "delete",
    "destroy",
    "drop",
    "remove",
    "purge",
    "terminate",
    "wipe",
    "erase",
    "truncate",
];

/// The resource of a URL (scheme, host, port, path; no query, no fragment, no user info)
/// and its host. An unparseable URL is kept as written, without its query.
pub(crate) fn url_resource(text: &str) -> (String, Option<String>) {
    if let Some(path) = file_url_path(text) {
        return (crate::paths::file_uri(&path), None);
    }
    match url::Url::parse(text) {
        Ok(url) => {
            let host = url.host_str().map(str::to_ascii_lowercase);
            let mut resource = format!("{}://{}", url.scheme(), host.clone().unwrap_or_default());
            if let Some(port) = url.port() {
                resource.push_str(&format!(":{port}"));
            }
            resource.push_str(url.path());
            (resource, host)
        }
        Err(_) => {
            let bare = text.split(['?', '#']).next().unwrap_or(text);
            if bare.contains("://") {
                (bare.to_string(), None)
            } else {
                (format!("https://{bare}*"), None)
            }
        }
    }
}

/// The local path a `file:` URL names, decoded and normalised (`file://HOST/a%2Eb` is
/// `/a.b`: the host is ignored, as curl and browsers read the local file), or `None` for any
/// other URL.
pub(crate) fn file_url_path(text: &str) -> Option<String> {
    let rest = text
        .get(..5)
        .filter(|scheme| scheme.eq_ignore_ascii_case("file:"))
        .map(|scheme| &text[scheme.len()..])?;
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let path = match rest.strip_prefix("//") {
        Some(after_host) => after_host.find('/').map_or("/", |at| &after_host[at..]),
        None => rest,
    };
    Some(crate::paths::normalize_path(
        &percent_decode(path),
        Some("/"),
        None,
    ))
}

/// `%XX` escapes decoded; a malformed escape is kept as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push(u8::try_from(high * 16 + low).unwrap_or(b'%'));
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Inspects an HTTP request given as `{"method", "url", "body", "headers"}`. GET, HEAD and
/// OPTIONS read; other methods send. A GraphQL body (`{"query": "mutation …"}`) adds one
/// effect per mutation field: `delete` with tag `graphql_mutation` when its name says
/// delete/destroy/drop/remove/purge/terminate/wipe, `network_send` otherwise.
pub fn inspect_http(input: &Value, envs: &Environments) -> Inspection {
    let mut notes = Vec::new();
    let Some(url) = input.get("url").and_then(Value::as_str) else {
        notes.push("http request without a `url` string".into());
        let effects = vec![opaque(Operation::NetworkSend, "https://*")];
        return Inspection {
            blast_radius: derive_blast_radius(&effects),
            effects,
            notes,
        };
    };
    let method = input
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or("GET")
        .to_ascii_uppercase();
    let (resource, host) = url_resource(url);
    let parsed = url::Url::parse(url).is_ok();
    if !parsed {
        notes.push(format!("unparseable URL `{url}`"));
    }
    let environment = host.as_deref().and_then(|h| envs.of_host(h));
    let reads = matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS");
    let mut base = Effect::new(
        if reads {
            Operation::Read
        } else {
            Operation::NetworkSend
        },
        resource.clone(),
    );
    base.environment = environment.clone();
    base.opaque = !parsed;
    attr(&mut base, "method", method.clone());
    if let Some(host) = &host {
        attr(&mut base, "host", host.clone());
    }
    if let Some(path) = file_url_path(url) {
        // A local file: read, or written by a request that sends.
        base.opaque = false;
        base.operation = if reads {
            Operation::Read
        } else {
            Operation::Update
        };
        if crate::paths::is_secret_path(&path) {
            tag(&mut base, "secret");
        }
    }
    let mut effects = vec![base];
    let query = graphql_query(input.get("body"));
    if let Some(query) = query {
        for mutation in mutation_fields(&query) {
            let lower = mutation.to_ascii_lowercase();
            let destructive = DESTRUCTIVE_WORDS.iter().any(|w| lower.contains(w));
            let mut effect = Effect::new(
                if destructive {
                    Operation::Delete
                } else {
                    Operation::NetworkSend
                },
                resource.clone(),
            );
            effect.environment = environment.clone();
            attr(&mut effect, "method", method.clone());
            attr(&mut effect, "mutation", mutation.clone());
            if let Some(host) = &host {
                attr(&mut effect, "host", host.clone());
            }
            if destructive {
                tag(&mut effect, "graphql_mutation");
            }
            effect.evidence = Some(format!("GraphQL mutation `{mutation}`"));
            effects.push(effect);
        }
    }
    Inspection {
        blast_radius: derive_blast_radius(&effects),
        effects,
        notes,
    }
}

/// The GraphQL document in a request body, when there is one.
fn graphql_query(body: Option<&Value>) -> Option<String> {
    let parsed;
    let body = match body? {
        Value::String(text) => {
            parsed = serde_json::from_str::<Value>(text).ok();
            match &parsed {
                Some(value) => value,
                // A raw GraphQL document sent as the body.
                None if text.trim_start().starts_with("mutation") => return Some(text.clone()),
                None => return None,
            }
        }
        other => other,
    };
    match body {
        Value::Object(map) => map.get("query").and_then(Value::as_str).map(str::to_string),
        Value::Array(batch) => {
            let queries: Vec<String> = batch
                .iter()
                .filter_map(|b| b.get("query").and_then(Value::as_str).map(str::to_string))
                .collect();
            if queries.is_empty() {
                None
            } else {
                Some(queries.join("\n"))
            }
        }
        _ => None,
    }
}

/// The top-level field names of every `mutation` operation in a GraphQL document, read with a
/// small tokenizer (comments, strings, arguments and aliases are skipped).
pub(crate) fn mutation_fields(query: &str) -> Vec<String> {
    let tokens = graphql_tokens(query);
    let mut fields = Vec::new();
    let mut i = 0;
    let mut depth = 0usize;
    while i < tokens.len() {
        let token = tokens[i].as_str();
        if depth == 0 && token == "mutation" {
            // Skip the name and variable definitions up to the selection set.
            let mut j = i + 1;
            let mut parens = 0usize;
            while j < tokens.len() && !(tokens[j] == "{" && parens == 0) {
                match tokens[j].as_str() {
                    "(" => parens += 1,
                    ")" => parens = parens.saturating_sub(1),
                    _ => {}
                }
                j += 1;
            }
            // Inside the selection set: collect names at depth 1.
            let mut level = 0usize;
            let mut parens = 0usize;
            let mut k = j;
            while k < tokens.len() {
                let t = tokens[k].as_str();
                match t {
                    "{" if parens == 0 => level += 1,
                    "}" if parens == 0 => {
                        level = level.saturating_sub(1);
                        if level == 0 {
                            break;
                        }
                    }
                    "(" => parens += 1,
                    ")" => parens = parens.saturating_sub(1),
                    _ if level == 1 && parens == 0 && is_name(t) && t != "..." => {
                        // `alias: field` → the field.
                        if tokens.get(k + 1).is_some_and(|n| n == ":") {
                            if let Some(field) = tokens.get(k + 2) {
                                fields.push(field.clone());
                                k += 2;
                            }
                        } else {
                            fields.push(t.to_string());
                        }
                    }
                    _ => {}
                }
                k += 1;
            }
            i = k + 1;
            continue;
        }
        match token {
            "{" => depth += 1,
            "}" => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    fields
}

fn is_name(token: &str) -> bool {
    token
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
}

fn graphql_tokens(query: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = query.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '"' => {
                // A string literal: skipped (block strings included).
                let mut escaped = false;
                for c in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                }
            }
            '{' | '}' | '(' | ')' | ':' => tokens.push(c.to_string()),
            c if c.is_ascii_alphanumeric() || c == '_' => {
                let mut name = c.to_string();
                while let Some(&n) = chars.peek() {
                    if n.is_ascii_alphanumeric() || n == '_' {
                        name.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(name);
            }
            _ => {}
        }
    }
    tokens
}
