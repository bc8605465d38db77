//! The shell cases of the corpus: JSON lines of `corpus/actions.jsonl` and
//! `corpus/peers/*.jsonl` whose tool is a shell.

use std::fs;
use std::path::Path;

use serde_json::Value;

/// Tool names that run a shell command line (compared case-insensitively).
pub const SHELL_TOOLS: [&str; 6] = ["bash", "shell", "sh", "shell.exec", "terminal", "zsh"];

/// One shell case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// `file:line` it came from, relative to the repository.
    pub source: String,
    /// Its id, when it has one.
    pub id: Option<String>,
    /// The command line.
    pub command: String,
}

/// The corpus files, in a fixed order: the actions, then the peers' suites by name.
pub fn corpus_files(repo: &Path) -> Result<Vec<String>, String> {
    let mut files = vec!["corpus/actions.jsonl".to_string()];
    let peers = repo.join("corpus/peers");
    let mut names: Vec<String> = fs::read_dir(&peers)
        .map_err(|e| format!("listing {}: {e}", peers.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".jsonl"))
        .collect();
    names.sort();
    files.extend(names.into_iter().map(|n| format!("corpus/peers/{n}")));
    Ok(files)
}

/// The command of a case object, when its tool is a shell.
pub fn shell_command(case: &Value) -> Option<String> {
    let tool = case.get("tool")?.as_str()?.to_ascii_lowercase();
    if !SHELL_TOOLS.contains(&tool.as_str()) {
        return None;
    }
    match case.get("input")? {
        Value::String(command) => Some(command.clone()),
        input => input.get("command")?.as_str().map(str::to_string),
    }
}

/// Every shell case of the corpus under `repo`, duplicates of an earlier command dropped.
pub fn load(repo: &Path) -> Result<Vec<Case>, String> {
    let mut cases: Vec<Case> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for file in corpus_files(repo)? {
        let path = repo.join(&file);
        let text =
            fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        for (number, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let value: Value =
                serde_json::from_str(line).map_err(|e| format!("{file}:{}: {e}", number + 1))?;
            let Some(command) = shell_command(&value) else {
                continue;
            };
            if !seen.insert(command.clone()) {
                continue;
            }
            cases.push(Case {
                source: format!("{file}:{}", number + 1),
                id: value.get("id").and_then(Value::as_str).map(str::to_string),
                command,
            });
        }
    }
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shell_cases_only() {
        assert_eq!(
            shell_command(&json!({"tool": "Bash", "input": {"command": "ls"}})).as_deref(),
            Some("ls")
        );
        assert_eq!(
            shell_command(&json!({"tool": "shell", "input": "pwd"})).as_deref(),
            Some("pwd")
        );
        assert_eq!(
            shell_command(&json!({"tool": "Read", "input": {"command": "ls"}})),
            None
        );
        assert_eq!(shell_command(&json!({"tool": "Bash", "input": {}})), None);
    }

    #[test]
    fn loads_the_repository_corpus() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let cases = load(&repo).unwrap();
        assert!(cases.len() > 300, "{}", cases.len());
        assert!(cases.iter().any(|c| c.command == "rm -rf node_modules"));
        assert!(cases.iter().all(|c| c.source.starts_with("corpus/")));
    }
}
