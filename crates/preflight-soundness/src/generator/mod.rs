//! The adversarial part: every shell case of the corpus rewritten into forms that do the same
//! thing. Single rewrites are enumerated; chains of two or three are drawn by proptest from a
//! fixed seed, so a run is reproducible; the set is deduplicated and, when larger than asked
//! for, cut down evenly across the seeds.

pub mod forms;
pub mod lex;
pub mod options;
pub mod paths;
pub mod specs;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

use proptest::collection::vec;
use proptest::sample::Index;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// The fixed seed of the composition draws.
pub const SEED: [u8; 32] = *b"preflight-soundness-generator-01";

/// What the generator knows about the sandbox the commands will run in.
#[derive(Debug, Clone)]
pub struct Context {
    /// The working directory.
    pub cwd: String,
    /// The user's home.
    pub home: String,
    /// The user's name.
    pub user: String,
    /// Every path that exists before a command runs.
    pub existing: BTreeSet<String>,
    /// The directories among them.
    pub dirs: BTreeSet<String>,
    /// Directories searched for programs, in order.
    pub path: Vec<String>,
}

impl Context {
    /// The absolute path a program name resolves to, found on this machine's `/usr` (which
    /// the sandbox shares read-only).
    pub fn locate(&self, name: &str) -> Option<String> {
        if name.contains('/') || name.is_empty() {
            return None;
        }
        self.path.iter().find_map(|dir| {
            let candidate = format!("{dir}/{name}");
            let metadata = std::fs::metadata(Path::new(&candidate)).ok()?;
            use std::os::unix::fs::PermissionsExt;
            (metadata.is_file() && metadata.permissions().mode() & 0o111 != 0).then_some(candidate)
        })
    }

    /// `value` as an absolute path from the working directory.
    pub fn absolute(&self, value: &str) -> String {
        crate::observe::join(&self.cwd, value)
    }

    /// A tilde word (`~`, `~/x`, `~alice/x`) expanded.
    pub fn expand_tilde(&self, raw: &str) -> String {
        let rest = &raw[1..];
        let (user, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let base = match user {
            "" => self.home.clone(),
            "root" => "/root".to_string(),
            other => format!("/home/{other}"),
        };
        crate::observe::join(&base, tail.trim_start_matches('/'))
    }

    /// The names in directory `dir`.
    pub fn children(&self, dir: &str) -> Vec<String> {
        let prefix = if dir == "/" {
            "/".to_string()
        } else {
            format!("{dir}/")
        };
        self.existing
            .range(prefix.clone()..)
            .take_while(|p| p.starts_with(&prefix))
            .filter_map(|p| {
                let rest = &p[prefix.len()..];
                (!rest.contains('/') && !rest.is_empty()).then(|| rest.to_string())
            })
            .collect()
    }
}

/// The directory part of an absolute path.
pub fn parent_dir(path: &str) -> String {
    match path.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(i) => path[..i].to_string(),
    }
}

/// The last segment of a path.
pub fn base_name(path: &str) -> &str {
    crate::observe::basename(path)
}

/// One command to run: a seed or a rewrite of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// The command line.
    pub command: String,
    /// The index of its seed.
    pub seed: usize,
    /// The rewrites applied, in order (empty for a seed).
    pub rewrites: Vec<&'static str>,
}

/// Every single rewrite of `line`.
pub fn rewrites_of(ctx: &Context, line: &str) -> Vec<forms::Form> {
    let mut out = forms::segment_forms(ctx, line);
    out.extend(forms::line_forms(line));
    let mut seen = HashSet::new();
    out.retain(|(_, form)| form != line && seen.insert(form.clone()));
    out
}

/// How many commands to draw as chains, as a share of the requested total.
const CHAIN_SHARE: usize = 3;

/// Generates up to `target` distinct commands: every seed, then single rewrites and chains of
/// two or three rewrites, spread evenly across the seeds.
pub fn generate(ctx: &Context, seeds: &[String], target: usize) -> Vec<Variant> {
    let mut per_seed: Vec<Vec<Variant>> = vec![Vec::new(); seeds.len()];
    let mut seen: HashSet<String> = HashSet::new();
    for (index, seed) in seeds.iter().enumerate() {
        if seen.insert(seed.clone()) {
            per_seed[index].push(Variant {
                command: seed.clone(),
                seed: index,
                rewrites: Vec::new(),
            });
        }
    }
    let mut singles: Vec<Vec<Variant>> = vec![Vec::new(); seeds.len()];
    for (index, seed) in seeds.iter().enumerate() {
        for (label, form) in rewrites_of(ctx, seed) {
            if seen.insert(form.clone()) {
                singles[index].push(Variant {
                    command: form,
                    seed: index,
                    rewrites: vec![label],
                });
            }
        }
    }
    let chains = draw_chains(ctx, seeds, target / CHAIN_SHARE + 1, &mut seen);
    let mut chained: Vec<Vec<Variant>> = vec![Vec::new(); seeds.len()];
    for variant in chains {
        chained[variant.seed].push(variant);
    }
    // Each seed's list: the seed, then its singles and chains interleaved in a stable
    // pseudo-random order, so that a cut keeps a mix of both.
    for index in 0..seeds.len() {
        let mut rest: Vec<Variant> = singles[index]
            .drain(..)
            .chain(chained[index].drain(..))
            .collect();
        rest.sort_by_key(|v| fnv(&v.command));
        per_seed[index].extend(rest);
    }
    round_robin(per_seed, target)
}

/// Takes from each list in turn until `target` are taken or all are empty.
fn round_robin(lists: Vec<Vec<Variant>>, target: usize) -> Vec<Variant> {
    let mut iters: Vec<std::vec::IntoIter<Variant>> =
        lists.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::new();
    loop {
        let mut any = false;
        for iter in &mut iters {
            if out.len() >= target {
                return out;
            }
            if let Some(variant) = iter.next() {
                out.push(variant);
                any = true;
            }
        }
        if !any {
            return out;
        }
    }
}

/// Draws `count` chains of two or three rewrites with proptest's runner on a fixed seed.
fn draw_chains(
    ctx: &Context,
    seeds: &[String],
    count: usize,
    seen: &mut HashSet<String>,
) -> Vec<Variant> {
    if seeds.is_empty() {
        return Vec::new();
    }
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &SEED));
    let strategy = (
        0..seeds.len(),
        vec(proptest::arbitrary::any::<Index>(), 2..=3),
    );
    let mut cache: BTreeMap<String, Vec<forms::Form>> = BTreeMap::new();
    let mut out = Vec::new();
    let attempts = count.saturating_mul(4);
    for _ in 0..attempts {
        if out.len() >= count {
            break;
        }
        let Ok(tree) = strategy.new_tree(&mut runner) else {
            continue;
        };
        let (seed, picks) = tree.current();
        let mut line = seeds[seed].clone();
        let mut labels = Vec::new();
        for pick in picks {
            let options = cache
                .entry(line.clone())
                .or_insert_with(|| rewrites_of(ctx, &line));
            if options.is_empty() {
                break;
            }
            let (label, form) = options[pick.index(options.len())].clone();
            labels.push(label);
            line = form;
        }
        if cache.len() > 20_000 {
            cache.clear();
        }
        if labels.len() >= 2 && seen.insert(line.clone()) {
            out.push(Variant {
                command: line,
                seed,
                rewrites: labels,
            });
        }
    }
    out
}

/// FNV-1a, for a stable order that does not depend on the standard library's hasher.
pub fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn context() -> Context {
        let existing: BTreeSet<String> = [
            "/home",
            "/home/alice",
            "/home/alice/projects",
            "/home/alice/.ssh",
            "/workspace",
            "/workspace/app",
            "/workspace/app/node_modules",
            "/workspace/app/node_modules/lodash",
            "/workspace/app/build",
            "/workspace/app/src",
            "/workspace/app/file.txt",
        ]
        .map(String::from)
        .into();
        let dirs = existing
            .iter()
            .filter(|p| !p.ends_with(".txt"))
            .cloned()
            .collect();
        Context {
            cwd: "/workspace/app".into(),
            home: "/home/alice".into(),
            user: "alice".into(),
            existing,
            dirs,
            path: vec![
                "/usr/local/bin".into(),
                "/usr/bin".into(),
                "/usr/sbin".into(),
            ],
        }
    }

    #[test]
    fn generation_is_reproducible_and_distinct() {
        let ctx = context();
        let seeds = vec![
            "rm -rf node_modules".to_string(),
            "git status".to_string(),
            "echo 'x".to_string(),
        ];
        let a = generate(&ctx, &seeds, 200);
        let b = generate(&ctx, &seeds, 200);
        assert_eq!(a, b);
        assert_eq!(a.len(), 200);
        let distinct: HashSet<&str> = a.iter().map(|v| v.command.as_str()).collect();
        assert_eq!(distinct.len(), a.len());
        assert!(a.iter().any(|v| v.rewrites.len() >= 2));
        // Every seed is represented, the seeds first.
        assert_eq!(a[0].command, "rm -rf node_modules");
        assert!(a.iter().any(|v| v.seed == 2 && !v.rewrites.is_empty()));
    }

    #[test]
    fn children_and_tilde() {
        let ctx = context();
        assert_eq!(ctx.children("/workspace/app").len(), 4);
        assert_eq!(ctx.expand_tilde("~"), "/home/alice");
        assert_eq!(ctx.expand_tilde("~alice/x"), "/home/alice/x");
        assert_eq!(ctx.expand_tilde("~/x/y"), "/home/alice/x/y");
        assert_eq!(parent_dir("/a/b"), "/a");
        assert_eq!(parent_dir("/a"), "/");
    }
}
