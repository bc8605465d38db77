//! `preflight eval`: labelled corpora through the configured verifier, scored per corpus.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use preflight_core::Decision;
use preflight_core::corpus::{Expect, load_cases};
use serde::Serialize;

use crate::config::{Settings, Verifiers};
use crate::engine::{Engine, to_json};
use crate::error::CliError;
use crate::{exit_for_failures, mark, print, print_results};

/// How one corpus (or all of them) scored. Disputed cases are counted apart and scored in
/// neither rate.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Score {
    /// The corpus file, or `total`.
    pub corpus: String,
    /// Cases expecting a block (deny or escalate).
    pub block_cases: usize,
    /// Of those, how many were blocked.
    pub blocked: usize,
    /// Cases expecting an allow.
    pub allow_cases: usize,
    /// Of those, how many were blocked.
    pub allow_blocked: usize,
    /// Cases expecting exactly deny or escalate: how many got exactly that.
    pub exact_cases: usize,
    /// Of those, how many passed.
    pub exact_passed: usize,
    /// Cases left out because their sources disagree.
    pub disputed: usize,
}

impl Score {
    fn add(&mut self, expect: Expect, decision: Decision, passed: bool) {
        let blocked = matches!(decision, Decision::Deny | Decision::Escalate);
        match expect {
            Expect::Block => {
                self.block_cases += 1;
                self.blocked += usize::from(blocked);
            }
            Expect::Allow => {
                self.allow_cases += 1;
                self.allow_blocked += usize::from(blocked);
            }
            Expect::Deny | Expect::Escalate => {
                self.exact_cases += 1;
                self.exact_passed += usize::from(passed);
                self.block_cases += 1;
                self.blocked += usize::from(blocked);
            }
        }
    }

    fn merge(&mut self, other: &Score) {
        self.block_cases += other.block_cases;
        self.blocked += other.blocked;
        self.allow_cases += other.allow_cases;
        self.allow_blocked += other.allow_blocked;
        self.exact_cases += other.exact_cases;
        self.exact_passed += other.exact_passed;
        self.disputed += other.disputed;
    }

    /// One line: `corpus: block cases blocked N/M (P %), allow cases blocked N/M (P %)`.
    pub fn line(&self) -> String {
        let rate = |n: usize, of: usize| {
            if of == 0 {
                "-".to_string()
            } else {
                #[allow(clippy::cast_precision_loss)]
                let percent = n as f64 * 100.0 / of as f64;
                format!("{percent:.1} %")
            }
        };
        let mut line = format!(
            "{}: block cases blocked {}/{} ({}), allow cases blocked {}/{} ({})",
            self.corpus,
            self.blocked,
            self.block_cases,
            rate(self.blocked, self.block_cases),
            self.allow_blocked,
            self.allow_cases,
            rate(self.allow_blocked, self.allow_cases),
        );
        if self.exact_cases > 0 {
            line.push_str(&format!(
                ", exact deny/escalate {}/{}",
                self.exact_passed, self.exact_cases
            ));
        }
        if self.disputed > 0 {
            line.push_str(&format!(", {} disputed left out", self.disputed));
        }
        line
    }
}

/// The whole report: every case, then the scores.
#[derive(Debug, Clone, Default, Serialize)]
struct Report {
    cases: Vec<CaseLine>,
    scores: Vec<Score>,
    total: Score,
    passed: usize,
    failed: usize,
}

#[derive(Debug, Clone, Serialize)]
struct CaseLine {
    corpus: String,
    #[serde(flatten)]
    result: preflight_rules::CaseResult,
}

/// Runs `corpora` and prints the report; exits 1 when a case failed.
pub async fn run(settings: &Settings, corpora: &[PathBuf], json: bool) -> Result<u8, CliError> {
    let mut suites = Vec::with_capacity(corpora.len());
    for path in corpora {
        let cases = load_cases(path).map_err(|e| CliError::Input(e.to_string()))?;
        suites.push((path.as_path(), cases));
    }
    let engine = Engine::build(settings, false).await?;
    let total_cases: usize = suites.iter().map(|(_, cases)| cases.len()).sum();
    let progress = (std::io::stderr().is_terminal() && !json).then(|| {
        let bar = indicatif::ProgressBar::new(total_cases as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut report = Report::default();
    report.total.corpus = "total".into();
    for (path, cases) in &suites {
        let mut score = Score {
            corpus: name(path),
            ..Score::default()
        };
        for case in cases {
            if let Some(bar) = &progress {
                bar.set_message(case.id.clone());
                bar.inc(1);
            }
            if case.disputed {
                score.disputed += 1;
                continue;
            }
            let one = preflight_rules::evaluate_corpus(
                engine.verifier.as_ref(),
                std::slice::from_ref(case),
            )
            .await;
            for result in one.cases {
                score.add(result.expect, result.decision, result.passed);
                if result.passed {
                    report.passed += 1;
                } else {
                    report.failed += 1;
                }
                report.cases.push(CaseLine {
                    corpus: name(path),
                    result,
                });
            }
        }
        report.total.merge(&score);
        report.scores.push(score);
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if json {
        print(&to_json(&report, true)?)?;
    } else {
        let verifier = match settings.verifiers {
            Verifiers::Rules => "rules",
            Verifiers::Llm => "llm",
            Verifiers::Both => "rules+llm",
        };
        let mut lines: Vec<String> = report
            .cases
            .iter()
            .map(|line| {
                let case = &line.result;
                format!(
                    "{} {} (line {}) [{verifier}]: expected {}, got {} — {}",
                    mark(case.passed),
                    case.id,
                    case.line,
                    case.expect,
                    case.decision,
                    case.summary
                )
            })
            .collect();
        lines.extend(report.scores.iter().map(Score::line));
        if report.scores.len() > 1 {
            lines.push(report.total.line());
        }
        print_results(lines.into_iter(), report.passed, report.failed)?;
    }
    Ok(exit_for_failures(report.failed))
}

fn name(path: &Path) -> String {
    path.display().to_string()
}
