//! Reading the output of `strace -f -qq -y`: one [`Call`] per finished system call, with the
//! calls a process started before another process interrupted it (`<unfinished ...>`) joined
//! to their `<... resumed>` half.

use std::collections::HashMap;

/// One system call as strace printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The thread or process id that made the call.
    pub pid: u32,
    /// The system call's name (`openat`, `execve`, …).
    pub name: String,
    /// The top-level arguments, as printed (`AT_FDCWD</workspace/app>`, `"out.txt"`, …).
    pub args: Vec<String>,
    /// How the call returned.
    pub outcome: Outcome,
}

/// The return of a system call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It succeeded with this value; `path` is the `-y` decoding of a returned descriptor.
    Ok {
        /// The returned number.
        value: i64,
        /// The file a returned descriptor refers to, when strace decoded one.
        path: Option<String>,
    },
    /// It failed with this errno name (`EROFS`, `ENOENT`, …).
    Err(String),
    /// The call never returned (the process exited or was killed in it).
    Unknown,
}

impl Outcome {
    /// Whether the call succeeded.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok { .. })
    }

    /// The errno name of a failed call.
    pub fn errno(&self) -> Option<&str> {
        match self {
            Outcome::Err(errno) => Some(errno),
            _ => None,
        }
    }
}

/// Joins the halves of interrupted calls and parses each finished line.
#[derive(Debug, Default)]
pub struct Parser {
    pending: HashMap<u32, String>,
}

impl Parser {
    /// A parser with no interrupted calls.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses one line of output; `None` for lines that are not a finished call (an
    /// interrupted first half, an exit or signal notice, garbage).
    pub fn feed(&mut self, line: &str) -> Option<Call> {
        let line = line.trim_end_matches(['\n', '\r']);
        let (pid, rest) = split_pid(line);
        let rest = rest.trim_start();
        if rest.starts_with("+++") || rest.starts_with("---") || rest.is_empty() {
            return None;
        }
        if let Some(body) = rest.strip_prefix("<... ") {
            // `<... openat resumed>, O_RDONLY) = 3</x>`
            let close = body.find(" resumed>")?;
            let name = &body[..close];
            let tail = &body[close + " resumed>".len()..];
            let head = self.pending.remove(&pid)?;
            if !head.starts_with(name) {
                return None;
            }
            let mut joined = head;
            joined.push_str(tail);
            return parse_call(pid, &joined);
        }
        if let Some(head) = rest.strip_suffix("<unfinished ...>") {
            self.pending.insert(pid, head.trim_end().to_string());
            return None;
        }
        parse_call(pid, rest)
    }
}

/// Parses a whole trace.
pub fn parse_trace(text: &str) -> Vec<Call> {
    let mut parser = Parser::new();
    text.lines().filter_map(|line| parser.feed(line)).collect()
}

fn split_pid(line: &str) -> (u32, &str) {
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return (0, line);
    }
    let pid = line[..digits].parse().unwrap_or(0);
    (pid, &line[digits..])
}

/// Parses `name(args) = result`.
fn parse_call(pid: u32, text: &str) -> Option<Call> {
    let open = text.find('(')?;
    let name = text[..open].trim();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let body = &text[open + 1..];
    let (args, close) = split_args(body)?;
    let after = body[close + 1..].trim_start();
    let result = after.strip_prefix('=')?.trim();
    Some(Call {
        pid,
        name: name.to_string(),
        args,
        outcome: parse_outcome(result),
    })
}

/// Splits the text after `(` into top-level arguments, up to the matching `)`; returns the
/// arguments and the index of that `)`.
fn split_args(body: &str) -> Option<(Vec<String>, usize)> {
    let bytes = body.as_bytes();
    let mut args = Vec::new();
    let mut depth = 0usize;
    let mut start = 0usize;
    let mut i = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = skip_string(bytes, i)?,
            b'<' if i > 0 && (bytes[i - 1].is_ascii_digit() || bytes[i - 1] == b'D') => {
                // A `-y` annotation: `3</path>` or `AT_FDCWD</path>`; `>` inside is `\76`.
                i = skip_annotation(bytes, i)?;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = body[i + 2..].find("*/")?;
                i += 2 + end + 1;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            b')' => {
                if depth == 0 {
                    let last = body[start..i].trim();
                    if !last.is_empty() || !args.is_empty() {
                        args.push(last.to_string());
                    }
                    return Some((args, i));
                }
                depth -= 1;
            }
            b',' if depth == 0 => {
                args.push(body[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index of the closing quote of the string opening at `start`.
fn skip_string(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The index of the `>` closing the annotation opening at `start`.
fn skip_annotation(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'>' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

fn parse_outcome(result: &str) -> Outcome {
    if result.starts_with('?') {
        return Outcome::Unknown;
    }
    if let Some(rest) = result.strip_prefix("-1 ") {
        let errno = rest.split_whitespace().next().unwrap_or("");
        if errno.starts_with('E') {
            return Outcome::Err(errno.to_string());
        }
    }
    let digits: &str = {
        let end = result
            .char_indices()
            .find(|(i, c)| !(c.is_ascii_hexdigit() || *c == 'x' || (*i == 0 && *c == '-')))
            .map_or(result.len(), |(i, _)| i);
        &result[..end]
    };
    let value = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).unwrap_or(0)
    } else {
        digits.parse().unwrap_or(0)
    };
    let path = annotation(&result[digits.len()..]);
    Outcome::Ok { value, path }
}

/// Decodes a quoted C string (`"a\"b\n"`, possibly followed by `...` when strace cut it).
pub fn unquote(arg: &str) -> Option<String> {
    let inner = arg.trim().strip_prefix('"')?;
    let bytes = inner.as_bytes();
    let end = skip_string(arg.trim().as_bytes(), 0)? - 1;
    Some(unescape(&bytes[..end]))
}

/// The path of a `-y` annotation: `3</tmp/x>` → `/tmp/x`, `AT_FDCWD</w>` → `/w`. Sockets,
/// pipes and anonymous files (`socket:[…]`, `pipe:[…]`) are returned as printed.
pub fn annotation(arg: &str) -> Option<String> {
    let bytes = arg.as_bytes();
    let open = arg.find('<')?;
    let close = skip_annotation(bytes, open)?;
    let mut path = unescape(&bytes[open + 1..close]);
    if let Some(stripped) = path.strip_suffix(" (deleted)") {
        path = stripped.to_string();
    }
    Some(path)
}

/// Decodes an array of strings (`["rm", "-rf", "x"]`); an elided tail (`...`) is dropped.
pub fn string_array(arg: &str) -> Vec<String> {
    let Some(inner) = arg.trim().strip_prefix('[') else {
        return Vec::new();
    };
    let bytes = inner.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'"' {
            let Some(end) = skip_string(bytes, i) else {
                break;
            };
            out.push(unescape(&bytes[i + 1..end]));
            i = end + 1;
        } else if bytes[i] == b']' {
            break;
        } else {
            i += 1;
        }
    }
    out
}

/// Undoes strace's C escapes (`\n`, `\t`, `\"`, `\\`, octal `\303`, hex `\x1b`).
fn unescape(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'\\' || i + 1 >= bytes.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let next = bytes[i + 1];
        i += 2;
        match next {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'v' => out.push(0x0b),
            b'f' => out.push(0x0c),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'x' => {
                let mut value = 0u32;
                let mut taken = 0;
                while taken < 2 && i < bytes.len() && bytes[i].is_ascii_hexdigit() {
                    value = value * 16 + char::from(bytes[i]).to_digit(16).unwrap_or(0);
                    i += 1;
                    taken += 1;
                }
                out.push(u8::try_from(value).unwrap_or(b'?'));
            }
            b'0'..=b'7' => {
                let mut value = u32::from(next - b'0');
                let mut taken = 1;
                while taken < 3 && i < bytes.len() && (b'0'..=b'7').contains(&bytes[i]) {
                    value = value * 8 + u32::from(bytes[i] - b'0');
                    i += 1;
                    taken += 1;
                }
                out.push(u8::try_from(value).unwrap_or(b'?'));
            }
            other => out.push(other),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Call {
        Parser::new().feed(line).expect("a call")
    }

    #[test]
    fn parses_an_openat_with_decoded_descriptors() {
        let call = one(
            r#"6     openat(AT_FDCWD</workspace/app>, "out.txt", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 4</workspace/app/out.txt>"#,
        );
        assert_eq!(call.pid, 6);
        assert_eq!(call.name, "openat");
        assert_eq!(call.args.len(), 4);
        assert_eq!(annotation(&call.args[0]).as_deref(), Some("/workspace/app"));
        assert_eq!(unquote(&call.args[1]).as_deref(), Some("out.txt"));
        assert_eq!(call.args[2], "O_WRONLY|O_CREAT|O_TRUNC");
        assert_eq!(
            call.outcome,
            Outcome::Ok {
                value: 4,
                path: Some("/workspace/app/out.txt".into())
            }
        );
    }

    #[test]
    fn parses_errors_and_unknown_returns() {
        let call = one(
            r#"6     openat(AT_FDCWD</workspace/app>, "/usr/x", O_WRONLY|O_CREAT|O_TRUNC, 0666) = -1 EROFS (Read-only file system)"#,
        );
        assert_eq!(call.outcome.errno(), Some("EROFS"));
        let call =
            one(r#"9     execve("/usr/bin/sleep", ["sleep", "9"], 0x7ffd /* 5 vars */) = ?"#);
        assert_eq!(call.outcome, Outcome::Unknown);
    }

    #[test]
    fn parses_execve_argv_with_escapes() {
        let call = one(
            r#"22347 execve("/usr/bin/touch", ["touch", "a>b,c", "q\"x", "nl\nx", "\303\274", "t\ty"], 0x559e7801c8f0 /* 35 vars */) = 0"#,
        );
        assert_eq!(unquote(&call.args[0]).as_deref(), Some("/usr/bin/touch"));
        assert_eq!(
            string_array(&call.args[1]),
            vec!["touch", "a>b,c", "q\"x", "nl\nx", "ü", "t\ty"]
        );
        assert!(call.outcome.is_ok());
    }

    #[test]
    fn decodes_escaped_annotations() {
        let call = one(
            r#"22347 openat(AT_FDCWD</tmp/probe/w>, "a>b,c", O_WRONLY|O_CREAT|O_NOCTTY|O_NONBLOCK, 0666) = 3</tmp/probe/w/a\76b,c>"#,
        );
        assert_eq!(call.args.len(), 4);
        assert_eq!(
            call.outcome,
            Outcome::Ok {
                value: 3,
                path: Some("/tmp/probe/w/a>b,c".into())
            }
        );
        let call = one(r#"12    fchown(5</workspace/app/sedPWHqrM (deleted)>, 1000, 1000) = 0"#);
        assert_eq!(
            annotation(&call.args[0]).as_deref(),
            Some("/workspace/app/sedPWHqrM")
        );
    }

    #[test]
    fn joins_unfinished_and_resumed_halves() {
        let mut parser = Parser::new();
        assert!(
            parser
                .feed(r#"7     openat(AT_FDCWD</w>, "x", O_WRONLY|O_CREAT <unfinished ...>"#)
                .is_none()
        );
        assert!(
            parser
                .feed(r#"8     unlinkat(AT_FDCWD</w>, "y", 0) = 0"#)
                .is_some()
        );
        let call = parser
            .feed(r#"7     <... openat resumed>, 0666) = 3</w/x>"#)
            .expect("joined");
        assert_eq!(call.name, "openat");
        assert_eq!(
            call.args,
            vec!["AT_FDCWD</w>", "\"x\"", "O_WRONLY|O_CREAT", "0666"]
        );
        let mut parser = Parser::new();
        assert!(
            parser
                .feed("6     clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD <unfinished ...>")
                .is_none()
        );
        let call = parser
            .feed("6     <... clone resumed>, child_tidptr=0x7f2f) = 7")
            .expect("joined");
        assert_eq!(
            call.outcome,
            Outcome::Ok {
                value: 7,
                path: None
            }
        );
    }

    #[test]
    fn parses_sockaddrs_and_skips_notices() {
        let call = one(
            r#"16    connect(8<socket:[23286]>, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.255.255.53")}, 16) = -1 ENETUNREACH (Network is unreachable)"#,
        );
        assert_eq!(call.args.len(), 3);
        assert!(call.args[1].contains("AF_INET"));
        let mut parser = Parser::new();
        assert!(parser.feed("6     +++ exited with 0 +++").is_none());
        assert!(
            parser
                .feed("6     --- SIGCHLD {si_signo=SIGCHLD} ---")
                .is_none()
        );
        assert!(parser.feed("").is_none());
    }

    #[test]
    fn reads_a_cut_string_and_an_elided_array() {
        assert_eq!(unquote(r#""abc"..."#).as_deref(), Some("abc"));
        assert_eq!(string_array(r#"["a", "b", ...]"#), vec!["a", "b"]);
        let call = one(r#"5 chdir("/tmp") = 0"#);
        assert_eq!(call.pid, 5);
        let call = one(r#"5 fork() = 9"#);
        assert!(call.args.is_empty());
    }
}
