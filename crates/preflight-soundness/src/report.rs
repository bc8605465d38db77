//! What a run reports: each failure as a JSON line, counts, and a summary by class.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use preflight_core::Effect;
use serde::Serialize;

use crate::coverage::Cover;
use crate::observe::Observed;

/// One soundness failure: an observed effect inspection did not cover.
#[derive(Debug, Clone, Serialize)]
pub struct Failure<'a> {
    /// The command run.
    pub command: &'a str,
    /// The corpus case it derives from (`corpus/peers/dcg.jsonl:12`).
    pub seed: &'a str,
    /// The seed's command line.
    pub seed_command: &'a str,
    /// The rewrites that turned the seed into the command.
    pub rewrites: &'a [&'static str],
    /// The effect.
    pub effect: &'a Observed,
    /// Everything inspection derived.
    pub inspection: &'a [Effect],
    /// The command was killed at the time limit.
    pub timed_out: bool,
}

/// Counts over a whole run.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    /// Commands run.
    pub commands: usize,
    /// Effects observed (after dropping ephemeral ones).
    pub effects: usize,
    /// Effects not covered.
    pub unsound_effects: usize,
    /// Commands with at least one effect not covered.
    pub unsound_commands: usize,
    /// Commands killed at the time limit.
    pub timeouts: usize,
    /// Commands the sandbox could not run.
    pub errors: usize,
    /// How covered effects were covered.
    pub covered: BTreeMap<&'static str, usize>,
    /// Uncovered effects by `kind program`, for a first triage.
    pub classes: BTreeMap<String, (usize, String)>,
    /// Time spent in sandboxes, summed over workers.
    pub sandbox_time: Duration,
}

impl Totals {
    /// Adds one command's judged effects.
    pub fn add(
        &mut self,
        command: &str,
        judged: &[(&Observed, Option<Cover>)],
        timed_out: bool,
        elapsed: Duration,
    ) {
        self.commands += 1;
        self.sandbox_time += elapsed;
        if timed_out {
            self.timeouts += 1;
        }
        let mut unsound = false;
        for (observed, cover) in judged {
            self.effects += 1;
            match cover {
                Some(cover) => *self.covered.entry(cover.as_str()).or_default() += 1,
                None => {
                    unsound = true;
                    self.unsound_effects += 1;
                    let entry = self
                        .classes
                        .entry(class_of(observed))
                        .or_insert((0, command.to_string()));
                    entry.0 += 1;
                }
            }
        }
        if unsound {
            self.unsound_commands += 1;
        }
    }

    /// The summary printed before the final line.
    pub fn summary(&self, wall: Duration, jobs: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "covered effects: {}", fmt_map(&self.covered));
        let _ = writeln!(
            out,
            "unsound: {} effects in {} commands; {} timeouts; {} sandbox errors",
            self.unsound_effects, self.unsound_commands, self.timeouts, self.errors
        );
        let _ = writeln!(
            out,
            "time: {:.1} s wall with {jobs} jobs, {:.1} ms per command in a sandbox",
            wall.as_secs_f64(),
            if self.commands == 0 {
                0.0
            } else {
                self.sandbox_time.as_secs_f64() * 1000.0 / self.commands as f64
            }
        );
        if !self.classes.is_empty() {
            let _ = writeln!(
                out,
                "uncovered effects by kind and program (most frequent first):"
            );
            let mut classes: Vec<(&String, &(usize, String))> = self.classes.iter().collect();
            classes.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
            for (class, (count, example)) in classes.iter().take(30) {
                let _ = writeln!(out, "  {count:>6}  {class:<32} e.g. {}", clip(example, 90));
            }
        }
        out
    }

    /// The final line.
    pub fn final_line(&self) -> String {
        format!(
            "soundness: {} commands run, {} effects observed, {} unsound",
            self.commands, self.effects, self.unsound_effects
        )
    }
}

/// `kind program`: the effect's kind and the program whose process made it (`bash` for the
/// shell itself).
pub fn class_of(observed: &Observed) -> String {
    let program = observed.lineage.last().map_or("bash", |p| p.name.as_str());
    match observed.kind {
        crate::observe::Kind::Exec => format!(
            "exec {} (by {program})",
            crate::observe::basename(&observed.target)
        ),
        kind => format!("{} (by {program})", kind.as_str()),
    }
}

fn fmt_map(map: &BTreeMap<&'static str, usize>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Text cut to `max` characters, with newlines shown as `\n`.
pub fn clip(text: &str, max: usize) -> String {
    let flat = text.replace('\n', "\\n");
    if flat.chars().count() <= max {
        flat
    } else {
        let mut out: String = flat.chars().take(max).collect();
        out.push('…');
        out
    }
}

/// One line describing an observed effect for people.
pub fn describe(observed: &Observed) -> String {
    let lineage: Vec<&str> = observed.lineage.iter().map(|p| p.name.as_str()).collect();
    let mut text = format!(
        "{} {} {}",
        observed.syscall,
        observed.kind.as_str(),
        observed.target
    );
    if !observed.argv.is_empty() {
        let _ = write!(text, " argv {:?}", observed.argv);
    }
    if let Some(errno) = &observed.errno {
        let _ = write!(text, " ({errno})");
    }
    let _ = write!(text, " by {:?}", observed.process);
    if !lineage.is_empty() {
        let _ = write!(text, " [{}]", lineage.join(" > "));
    }
    text
}
