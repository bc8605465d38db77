//! `extends`: a policy built on built-in packs and other files.
//!
//! The bases are loaded (each compiled on its own first, so a broken base names its own file),
//! then merged: their rules come first, a rule of the extending file with the id of an
//! inherited one replaces it, environments and agents merge by name (the extending file wins),
//! and a top-level setting the extending file leaves out is the strictest of its bases'.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::RulesError;
use crate::file::{PolicyFile, RuleEffect};
use crate::packs;
use crate::policy::Inherited;

/// How deep `extends` may nest.
const MAX_DEPTH: usize = 8;

/// Where a base policy comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Builtin(&'static str, &'static str),
    File(PathBuf),
}

impl Source {
    fn name(&self) -> String {
        match self {
            Source::Builtin(name, _) => format!("{}{name}", packs::PREFIX),
            Source::File(path) => path.display().to_string(),
        }
    }
}

/// Top-level settings the text sets explicitly (serde defaults cannot tell "left out" from
/// "set to the default").
#[derive(Debug, Default)]
struct Written {
    default: bool,
    unknown_environment: bool,
    default_agent: bool,
}

impl Written {
    fn of(text: &str) -> Self {
        let json = text.trim_start().starts_with('{');
        let map = if json {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text).ok()
        } else {
            None
        };
        let has = |key: &str| -> bool {
            match &map {
                Some(map) => map.contains_key(key),
                // TOML's top-level keys are the ones before the first table header; the text
                // has parsed already, so a line scan is enough.
                None if !json => text
                    .lines()
                    .map(str::trim_start)
                    .take_while(|line| !line.starts_with('['))
                    .filter_map(|line| line.split_once('='))
                    .any(|(name, _)| name.trim().trim_matches(['"', '\'']) == key),
                None => false,
            }
        };
        Self {
            default: has("default"),
            unknown_environment: has("unknown_environment"),
            default_agent: has("default_agent"),
        }
    }
}

/// Resolves `file.extends` (written in `text`, read from `origin`) and returns the merged file
/// and where each inherited rule was written. `chain` holds the policies being loaded, to
/// refuse a cycle.
pub(crate) fn resolve(
    mut file: PolicyFile,
    text: &str,
    origin: &str,
    chain: &mut Vec<String>,
) -> Result<(PolicyFile, Vec<Inherited>), RulesError> {
    let invalid = |index: usize, message: String| RulesError::Invalid {
        origin: origin.to_string(),
        line: crate::position::find_quoted(text, 0, &file.extends[index])
            .map_or(0, |at| crate::position::line_column(text, at).0),
        column: 0,
        field: format!("extends[{index}]"),
        message,
    };
    if chain.len() >= MAX_DEPTH {
        return Err(invalid(
            0,
            format!("`extends` nests deeper than {MAX_DEPTH} policies"),
        ));
    }
    let mut rules: Vec<(crate::file::RuleSpec, Inherited)> = Vec::new();
    let mut environments = preflight_inspect::Environments::default();
    let mut agents = std::collections::BTreeMap::new();
    let mut default: Option<RuleEffect> = None;
    let mut unknown_environment: Option<RuleEffect> = None;
    let mut default_agent = None;
    for (index, name) in file.extends.iter().enumerate() {
        let source = locate(name, origin).map_err(|message| invalid(index, message))?;
        let key = source.name();
        if chain.contains(&key) {
            return Err(invalid(
                index,
                format!("`{name}` extends itself through {}", chain.join(" → ")),
            ));
        }
        let (base_text, base_origin) = match &source {
            Source::Builtin(_, text) => ((*text).to_string(), key.clone()),
            Source::File(path) => (
                std::fs::read_to_string(path)
                    .map_err(|e| invalid(index, format!("cannot read {}: {e}", path.display())))?,
                key.clone(),
            ),
        };
        chain.push(key);
        let base = load_base(&base_text, &base_origin, chain);
        chain.pop();
        let (base, base_places) = base?;
        let base_written = Written::of(&base_text);
        for (spec, place) in base.rules.iter().zip(base_places) {
            rules.retain(|(kept, _)| kept.id != spec.id);
            rules.push((spec.clone(), place));
        }
        for (env, identity) in &base.environments.environments {
            environments
                .environments
                .insert(env.clone(), identity.clone());
        }
        for (id, envelope) in &base.agents {
            agents.insert(id.clone(), envelope.clone());
        }
        if base_written.default || !base.extends.is_empty() {
            default = Some(default.map_or(base.default, |d| d.max(base.default)));
        }
        if base_written.unknown_environment || !base.extends.is_empty() {
            let value = base.unknown_environment;
            unknown_environment = Some(unknown_environment.map_or(value, |d| d.max(value)));
        }
        if default_agent.is_none() && base_written.default_agent {
            default_agent.clone_from(&base.default_agent);
        }
    }
    let written = Written::of(text);
    rules.retain(|(inherited, _)| file.rules.iter().all(|own| own.id != inherited.id));
    let (inherited_rules, places): (Vec<_>, Vec<_>) = rules.into_iter().unzip();
    let own_rules = std::mem::take(&mut file.rules);
    file.rules = inherited_rules;
    file.rules.extend(own_rules);
    for (env, identity) in std::mem::take(&mut file.environments.environments) {
        environments.environments.insert(env, identity);
    }
    file.environments = environments;
    for (id, envelope) in std::mem::take(&mut file.agents) {
        agents.insert(id, envelope);
    }
    file.agents = agents;
    if !written.default {
        if let Some(inherited) = default {
            file.default = inherited;
        }
    }
    if !written.unknown_environment {
        if let Some(inherited) = unknown_environment {
            file.unknown_environment = inherited;
        }
    }
    if !written.default_agent {
        file.default_agent = default_agent;
    }
    Ok((file, places))
}

/// Reads a base and what it extends, without compiling it: the extending policy compiles the
/// merged rules once, and an error in an inherited rule names the file it was written in.
/// Returns the merged file and where each of its rules was written.
fn load_base(
    text: &str,
    origin: &str,
    chain: &mut Vec<String>,
) -> Result<(PolicyFile, Vec<Inherited>), RulesError> {
    let file = crate::policy::parse(text, origin)?;
    if file.version != 1 {
        return Err(RulesError::Invalid {
            origin: origin.to_string(),
            line: 0,
            column: 0,
            field: "version".into(),
            message: "unsupported version; expected 1".into(),
        });
    }
    let (file, mut places) = if file.extends.is_empty() {
        (file, Vec::new())
    } else {
        resolve(file, text, origin, chain)?
    };
    let own: Vec<&str> = file
        .rules
        .iter()
        .skip(places.len())
        .map(|rule| rule.id.as_str())
        .collect();
    for (index, id) in own.iter().enumerate() {
        if own[..index].contains(id) {
            return Err(RulesError::Invalid {
                origin: origin.to_string(),
                line: 0,
                column: 0,
                field: format!("rule[{index}].id"),
                message: format!("duplicate rule id `{id}`"),
            });
        }
    }
    let positions = crate::position::Positions::find(text, &own, &[]);
    for at in positions.rules {
        let (line, column) = crate::position::line_column(text, at);
        places.push(place(origin, line, column));
    }
    Ok((file, places))
}

/// Finds a base: `builtin:NAME`, or a path relative to the extending file.
fn locate(name: &str, origin: &str) -> Result<Source, String> {
    if let Some(pack) = name.strip_prefix(packs::PREFIX) {
        return packs::builtin(pack)
            .map(|(name, text)| Source::Builtin(name, text))
            .ok_or_else(|| {
                format!(
                    "no built-in policy `{pack}`; the built-in policies are {}",
                    packs::names().collect::<Vec<_>>().join(", ")
                )
            });
    }
    if origin.starts_with(packs::PREFIX) {
        return Err(format!(
            "a built-in policy extends only built-in policies, not `{name}`"
        ));
    }
    if name.trim().is_empty() {
        return Err("an empty name; expected builtin:NAME or a path".into());
    }
    let path = Path::new(name);
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        Path::new(origin)
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(path)
    };
    Ok(Source::File(path))
}

/// Where an inherited rule was written, for errors and explanations.
pub(crate) fn place(origin: &str, line: usize, column: usize) -> Inherited {
    Inherited {
        origin: Arc::from(origin),
        line,
        column,
    }
}
