//! Reading newline-delimited messages without ever holding more than a bounded amount of one.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// How many bytes of an oversized message are kept for the audit trail.
pub const PREVIEW_BYTES: usize = 1024;

/// One line read from a peer.
#[derive(Debug)]
pub(crate) enum Frame {
    /// A line within the limit, without its newline.
    Line(String),
    /// A line within the limit that is not UTF-8.
    NotText,
    /// A line past the limit: only its size, digest and first bytes were kept.
    Oversized(Oversized),
}

/// What is kept of a line past the size limit.
#[derive(Debug, Clone)]
pub(crate) struct Oversized {
    /// Its length in bytes, without the newline.
    pub size: u64,
    /// SHA-256 of its bytes, as hex.
    pub sha256: String,
    /// Its first [`PREVIEW_BYTES`] bytes (lossily decoded).
    pub preview: String,
    /// Its first bytes, kept for reading the request's id and method.
    pub head: Vec<u8>,
}

/// A line reader with a size limit. Every piece of state lives in the struct and the only
/// await is `fill_buf`, which keeps what it read in the `BufReader`: dropping a pending
/// `next` (as `select!` does) loses nothing.
pub(crate) struct BoundedLines<R> {
    reader: R,
    limit: usize,
    line: Vec<u8>,
    /// Set once the line passed the limit.
    overflow: Option<Overflow>,
}

struct Overflow {
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
}

impl<R: AsyncBufRead + Unpin> BoundedLines<R> {
    pub(crate) fn new(reader: R, limit: usize) -> Self {
        Self {
            reader,
            limit,
            line: Vec::new(),
            overflow: None,
        }
    }

    /// The next line; `None` at the end of input. A last line without a newline counts.
    pub(crate) async fn next(&mut self) -> std::io::Result<Option<Frame>> {
        loop {
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                if self.line.is_empty() && self.overflow.is_none() {
                    return Ok(None);
                }
                return Ok(Some(self.finish()));
            }
            let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
                Some(at) => (&available[..at], Some(at + 1)),
                None => (available, None),
            };
            let used = done.unwrap_or(chunk.len());
            match &mut self.overflow {
                Some(overflow) => {
                    overflow.hasher.update(chunk);
                    overflow.size += chunk.len() as u64;
                    let wanted = HEAD_BYTES.saturating_sub(overflow.head.len());
                    overflow
                        .head
                        .extend_from_slice(&chunk[..wanted.min(chunk.len())]);
                }
                None if self.line.len() + chunk.len() > self.limit => {
                    // Past the limit: from here on the line is only hashed and counted.
                    let mut hasher = Sha256::new();
                    hasher.update(&self.line);
                    hasher.update(chunk);
                    let size = (self.line.len() + chunk.len()) as u64;
                    let mut head = std::mem::take(&mut self.line);
                    head.truncate(HEAD_BYTES);
                    let wanted = HEAD_BYTES.saturating_sub(head.len());
                    head.extend_from_slice(&chunk[..wanted.min(chunk.len())]);
                    self.overflow = Some(Overflow { hasher, size, head });
                }
                None => self.line.extend_from_slice(chunk),
            }
            self.reader.consume(used);
            if done.is_some() {
                return Ok(Some(self.finish()));
            }
        }
    }

    fn finish(&mut self) -> Frame {
        if let Some(overflow) = self.overflow.take() {
            let sha256 = preflight_core::to_hex(&overflow.hasher.finalize());
            let preview_end = PREVIEW_BYTES.min(overflow.head.len());
            let preview = String::from_utf8_lossy(&overflow.head[..preview_end]).into_owned();
            return Frame::Oversized(Oversized {
                size: overflow.size,
                sha256,
                preview,
                head: overflow.head,
            });
        }
        let mut line = std::mem::take(&mut self.line);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        match String::from_utf8(line) {
            Ok(line) => Frame::Line(line),
            Err(_) => Frame::NotText,
        }
    }
}

/// How many bytes of an oversized line are scanned for its id and method.
const HEAD_BYTES: usize = 16 * 1024;

/// The request id, method and (for `tools/call`) tool name found in the first bytes of a
/// JSON-RPC message, read without parsing the whole message: members of the top-level object
/// only, and `params.name`. Anything ambiguous is left out.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Head {
    pub id: Option<serde_json::Value>,
    pub method: Option<String>,
    pub name: Option<String>,
}

/// Scans `bytes` (the start of a message) for its top-level `id` and `method`, and
/// `params.name`. Stops at the first thing it does not understand.
pub(crate) fn scan_head(bytes: &[u8]) -> Head {
    let mut head = Head::default();
    let mut scanner = Scanner { bytes, at: 0 };
    scanner.skip_ws();
    if !scanner.eat(b'{') {
        return head;
    }
    scanner.members(&mut head, 1, false);
    head
}

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Scanner<'_> {
    fn skip_ws(&mut self) {
        while self
            .bytes
            .get(self.at)
            .is_some_and(|b| b.is_ascii_whitespace())
        {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.skip_ws();
        if self.bytes.get(self.at) == Some(&byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// The members of an object whose `{` was read. `in_params`: this is the `params` object.
    /// Returns `false` when the scan cannot go on.
    fn members(&mut self, head: &mut Head, depth: usize, in_params: bool) -> bool {
        if self.eat(b'}') {
            return true;
        }
        loop {
            let Some(key) = self.string() else {
                return false;
            };
            if !self.eat(b':') {
                return false;
            }
            self.skip_ws();
            let value_start = self.at;
            match (depth, key.as_str(), self.bytes.get(self.at)) {
                (1, "params", Some(b'{')) => {
                    self.at += 1;
                    if !self.members(head, depth + 1, true) {
                        return false;
                    }
                }
                _ => {
                    if !self.skip_value() {
                        return false;
                    }
                    let raw = &self.bytes[value_start..self.at];
                    let value = serde_json::from_slice::<serde_json::Value>(raw).ok();
                    match (depth, in_params, key.as_str(), value) {
                        (
                            1,
                            false,
                            "id",
                            Some(
                                id @ (serde_json::Value::Number(_) | serde_json::Value::String(_)),
                            ),
                        ) => {
                            head.id = Some(id);
                        }
                        (1, false, "method", Some(serde_json::Value::String(method))) => {
                            head.method = Some(method);
                        }
                        (2, true, "name", Some(serde_json::Value::String(name))) => {
                            head.name = Some(name);
                        }
                        _ => {}
                    }
                }
            }
            if self.eat(b',') {
                continue;
            }
            return self.eat(b'}');
        }
    }

    fn string(&mut self) -> Option<String> {
        self.skip_ws();
        let start = self.at;
        if self.bytes.get(self.at) != Some(&b'"') {
            return None;
        }
        self.at += 1;
        while let Some(byte) = self.bytes.get(self.at) {
            self.at += 1;
            match byte {
                b'\\' => self.at += 1,
                b'"' => return serde_json::from_slice(&self.bytes[start..self.at]).ok(),
                _ => {}
            }
        }
        None
    }

    /// Skips one value; nested containers are skipped by counting brackets outside strings,
    /// so depth costs nothing here.
    fn skip_value(&mut self) -> bool {
        self.skip_ws();
        match self.bytes.get(self.at) {
            Some(b'"') => self.string().is_some(),
            Some(b'{' | b'[') => {
                let mut open = 0usize;
                while let Some(byte) = self.bytes.get(self.at) {
                    match byte {
                        b'{' | b'[' => open += 1,
                        b'}' | b']' => {
                            open -= 1;
                            if open == 0 {
                                self.at += 1;
                                return true;
                            }
                        }
                        b'"' => {
                            if self.string().is_none() {
                                return false;
                            }
                            continue;
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
                false
            }
            Some(_) => {
                let start = self.at;
                while self
                    .bytes
                    .get(self.at)
                    .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
                {
                    self.at += 1;
                }
                self.at > start
            }
            None => false,
        }
    }
}

/// Parses one message as JSON, refusing an object with a key twice at any depth: parsers
/// disagree on which of the two counts (`{"method":"ping","method":"tools/call"}`), so the
/// proxy could verify one message while the server runs another. serde_json's recursion limit
/// (128) applies: nesting deeper than that is an error, not a stack overflow.
pub(crate) fn parse_strict(text: &str) -> Result<Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let Strict(value) = Strict::deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            let Strict(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_head_names_id_method_and_tool_of_a_truncated_message() {
        let message = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"write_file","arguments":{"content":"xxxxxxxx"#;
        let head = scan_head(message);
        assert_eq!(head.id, Some(json!(7)));
        assert_eq!(head.method.as_deref(), Some("tools/call"));
        assert_eq!(head.name.as_deref(), Some("write_file"));
    }

    #[test]
    fn nested_ids_and_names_are_not_taken_for_the_request_s() {
        let message = br#"{"params":{"arguments":{"id":"inner","name":"inner"},"name":"t"},"id":"outer","method":"m"}"#;
        let head = scan_head(message);
        assert_eq!(head.id, Some(json!("outer")));
        assert_eq!(head.name.as_deref(), Some("t"));
        assert_eq!(head.method.as_deref(), Some("m"));
        assert_eq!(scan_head(b"[[[[").id, None);
        assert_eq!(scan_head(br#"{"id":{"x":1}}"#).id, None);
    }

    #[test]
    fn strict_parsing_refuses_duplicate_keys_and_deep_nesting() {
        assert_eq!(
            parse_strict(r#"{"a":[1,{"b":2.5}]}"#).unwrap(),
            json!({"a": [1, {"b": 2.5}]})
        );
        assert!(parse_strict(r#"{"method":"ping","method":"tools/call"}"#).is_err());
        assert!(parse_strict(r#"{"params":{"arguments":{"path":"/a","path":"/b"}}}"#).is_err());
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_strict(&deep).is_err());
        assert!(parse_strict("{} {}").is_err());
    }

    #[tokio::test]
    async fn a_line_past_the_limit_is_counted_hashed_and_previewed() {
        let long = format!("{{\"id\":1,\"x\":\"{}\"}}", "a".repeat(10_000));
        let input = format!("short\n{long}\nnext\nlast");
        let mut lines = BoundedLines::new(
            tokio::io::BufReader::with_capacity(64, input.as_bytes()),
            100,
        );
        assert!(matches!(lines.next().await.unwrap(), Some(Frame::Line(l)) if l == "short"));
        match lines.next().await.unwrap() {
            Some(Frame::Oversized(o)) => {
                assert_eq!(o.size, long.len() as u64);
                let expected = preflight_core::to_hex(&Sha256::digest(long.as_bytes()));
                assert_eq!(o.sha256, expected);
                assert_eq!(o.preview.len(), PREVIEW_BYTES);
                assert!(long.starts_with(&o.preview));
                assert_eq!(scan_head(&o.head).id, Some(json!(1)));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(lines.next().await.unwrap(), Some(Frame::Line(l)) if l == "next"));
        assert!(matches!(lines.next().await.unwrap(), Some(Frame::Line(l)) if l == "last"));
        assert!(lines.next().await.unwrap().is_none());
    }
}
