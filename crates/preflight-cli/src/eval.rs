//! `preflight eval`: labelled corpora through the configured verifier, scored per corpus.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use preflight_core::corpus::{Expect, load_cases};
use preflight_core::{Decision, Proposal};
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

/// Accuracy, misses, escalations, latency and tokens over every case judged, and how many of
/// them reached the LLM judge.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Measures {
    /// Cases judged (disputed ones left out).
    pub cases: usize,
    /// Cases whose decision meets the expectation.
    pub correct: usize,
    /// Cases that should have been blocked.
    pub unsafe_cases: usize,
    /// Of those, how many were allowed.
    pub unsafe_allowed: usize,
    /// Cases escalated.
    pub escalated: usize,
    /// Cases whose verifier failed (counted as the fail-closed decision).
    pub failures: usize,
    /// Median latency of one case, in microseconds.
    pub p50_latency_us: u64,
    /// 95th-percentile latency of one case, in microseconds.
    pub p95_latency_us: u64,
    /// Prompt tokens over all cases.
    pub input_tokens: u64,
    /// Completion tokens over all cases.
    pub output_tokens: u64,
    /// Cases the LLM judge was asked about (all of them with `--verifier llm`; with `both`,
    /// those the rules left open).
    pub reached_judge: u64,
    #[serde(skip)]
    latencies: Vec<u64>,
}

impl Measures {
    fn add(&mut self, expect: Expect, verdict: &preflight_core::Verdict, latency_us: u64) {
        self.cases += 1;
        self.correct += usize::from(expect.accepts(verdict.decision));
        if expect != Expect::Allow {
            self.unsafe_cases += 1;
            self.unsafe_allowed += usize::from(verdict.decision == Decision::Allow);
        }
        self.escalated += usize::from(verdict.decision == Decision::Escalate);
        self.failures += usize::from(
            verdict
                .reasons
                .iter()
                .any(|r| r.kind == preflight_core::ReasonKind::Failure),
        );
        let usage = preflight_llm::eval::total_usage(verdict);
        self.input_tokens += usage.input_tokens;
        self.output_tokens += usage.output_tokens;
        self.latencies.push(latency_us);
    }

    fn finish(&mut self, reached_judge: u64) {
        self.latencies.sort_unstable();
        self.p50_latency_us = preflight_llm::eval::percentile(&self.latencies, 50.0);
        self.p95_latency_us = preflight_llm::eval::percentile(&self.latencies, 95.0);
        self.reached_judge = reached_judge;
    }

    /// One line with every measure.
    pub fn line(&self) -> String {
        #[allow(clippy::cast_precision_loss)]
        let percent = |n: u64, of: usize| {
            if of == 0 {
                "-".to_string()
            } else {
                format!("{:.1} %", n as f64 * 100.0 / of as f64)
            }
        };
        let ms = |us: u64| us / 1000;
        format!(
            "measured over {} cases: accuracy {}, unsafe allowed {}/{} ({}), escalated {}, \
             failures {}, latency p50 {} ms p95 {} ms, tokens {} in {} out, reached the judge \
             {}/{} ({})",
            self.cases,
            percent(self.correct as u64, self.cases),
            self.unsafe_allowed,
            self.unsafe_cases,
            percent(self.unsafe_allowed as u64, self.unsafe_cases),
            percent(self.escalated as u64, self.cases),
            self.failures,
            ms(self.p50_latency_us),
            ms(self.p95_latency_us),
            self.input_tokens,
            self.output_tokens,
            self.reached_judge,
            self.cases,
            percent(self.reached_judge, self.cases),
        )
    }
}

/// The whole report: every case, then the scores.
#[derive(Debug, Clone, Default, Serialize)]
struct Report {
    cases: Vec<CaseLine>,
    scores: Vec<Score>,
    total: Score,
    measures: Measures,
    passed: usize,
    failed: usize,
}

#[derive(Debug, Clone, Serialize)]
struct CaseLine {
    corpus: String,
    #[serde(flatten)]
    result: preflight_rules::CaseResult,
}

/// What `preflight eval` judges.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Case corpora (JSON Lines).
    pub corpora: Vec<PathBuf>,
    /// Trajectory datasets in the R-Judge shape (ASSEBench): a JSON array of records.
    pub trajectories: Vec<PathBuf>,
    /// At most this many cases of each file.
    pub limit: Option<usize>,
}

/// One labelled item of either kind.
struct Item {
    id: String,
    line: usize,
    expect: Expect,
    proposal: Proposal,
}

/// Runs the inputs and prints the report; exits 1 when a case failed.
pub async fn run(settings: &Settings, inputs: &Inputs, json: bool) -> Result<u8, CliError> {
    let limit = inputs.limit.unwrap_or(usize::MAX);
    let mut suites: Vec<(String, Vec<Item>, usize)> = Vec::new();
    for path in &inputs.corpora {
        let cases = load_cases(path).map_err(|e| CliError::Input(e.to_string()))?;
        let disputed = cases.iter().take(limit).filter(|c| c.disputed).count();
        let items = cases
            .into_iter()
            .take(limit)
            .filter(|c| !c.disputed)
            .map(|c| Item {
                id: c.id,
                line: c.line,
                expect: c.expect,
                proposal: Proposal::new(c.action),
            })
            .collect();
        suites.push((name(path), items, disputed));
    }
    for path in &inputs.trajectories {
        let records = preflight_llm::eval::load_trajectories(path)
            .map_err(|e| CliError::Input(e.to_string()))?;
        let items = records
            .iter()
            .enumerate()
            .filter_map(|(index, record)| {
                record.to_eval_item().map(|item| Item {
                    id: item.id,
                    line: index + 1,
                    expect: item.expect,
                    proposal: item.proposal,
                })
            })
            .take(limit)
            .collect();
        suites.push((name(path), items, 0));
    }
    let mut settings = settings.clone();
    if settings.policy.is_none()
        && settings.llm.envelope.is_none()
        && !inputs.trajectories.is_empty()
    {
        // Trajectory records carry no policy: the judge gets the generic envelope.
        settings.llm.envelope = Some(preflight_llm::eval::TRAJECTORY_ENVELOPE.to_string());
    }
    let engine = Engine::build(&settings, false).await?;
    let total_cases: usize = suites.iter().map(|(_, items, _)| items.len()).sum();
    let terminal = std::io::stderr().is_terminal() && !json;
    let progress = terminal.then(|| {
        let bar = indicatif::ProgressBar::new(total_cases as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let verifier_name = match settings.verifiers {
        Verifiers::Rules => "rules",
        Verifiers::Llm => "llm",
        Verifiers::Both => "rules+llm",
    };
    let judged = settings.verifiers != Verifiers::Rules;
    let judged_before = engine.judge_stats.as_ref().map_or(0, |s| s.judged());
    let mut report = Report::default();
    report.total.corpus = "total".into();
    let mut done = 0usize;
    for (corpus, items, disputed) in suites {
        let mut score = Score {
            corpus: corpus.clone(),
            disputed,
            ..Score::default()
        };
        for item in items {
            done += 1;
            let started = std::time::Instant::now();
            let verdict = preflight_core::verify_fail_closed(
                engine.verifier.as_ref(),
                &item.proposal,
                engine.on_failure,
            )
            .await;
            let latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            let passed = item.expect.accepts(verdict.decision);
            score.add(item.expect, verdict.decision, passed);
            report.measures.add(item.expect, &verdict, latency_us);
            if passed {
                report.passed += 1;
            } else {
                report.failed += 1;
            }
            match &progress {
                Some(bar) => {
                    bar.set_message(item.id.clone());
                    bar.inc(1);
                }
                // Where no bar can be drawn (a log file) and the judge makes a run long: one
                // line per case, so that it can be read while it goes.
                None if !json && judged => {
                    let usage = preflight_llm::eval::total_usage(&verdict);
                    eprintln!(
                        "eval: {done}/{total_cases} {} expected {}, got {} in {} ms, tokens {} in {} out",
                        item.id,
                        item.expect,
                        verdict.decision,
                        latency_us / 1000,
                        usage.input_tokens,
                        usage.output_tokens
                    );
                }
                None => {}
            }
            report.cases.push(CaseLine {
                corpus: corpus.clone(),
                result: preflight_rules::CaseResult {
                    id: item.id,
                    line: item.line,
                    expect: item.expect,
                    decision: verdict.decision,
                    passed,
                    rules: verdict
                        .deciding_rules()
                        .into_iter()
                        .map(String::from)
                        .collect(),
                    summary: verdict.summary(),
                },
            });
        }
        report.total.merge(&score);
        report.scores.push(score);
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let reached = match settings.verifiers {
        Verifiers::Rules => 0,
        Verifiers::Llm => report.measures.cases as u64,
        Verifiers::Both => engine.judge_stats.as_ref().map_or(0, |s| s.judged()) - judged_before,
    };
    report.measures.finish(reached);
    if json {
        print(&to_json(&report, true)?)?;
    } else {
        let mut lines: Vec<String> = report
            .cases
            .iter()
            .map(|line| {
                let case = &line.result;
                format!(
                    "{} {} (line {}) [{verifier_name}]: expected {}, got {} — {}",
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
        if judged {
            lines.push(report.measures.line());
        }
        print_results(lines.into_iter(), report.passed, report.failed)?;
    }
    Ok(exit_for_failures(report.failed))
}

fn name(path: &Path) -> String {
    path.display().to_string()
}
