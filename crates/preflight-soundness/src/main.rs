//! `preflight-soundness`: runs the corpus's shell cases and their rewrites in a sandbox under
//! strace and reports every observed effect that inspection did not cover.

use std::fs;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use preflight_core::Inspection;
use preflight_inspect::ActionInspector;
use preflight_soundness::generator::{Context, Variant, generate};
use preflight_soundness::report::{Failure, Totals, clip, describe};
use preflight_soundness::sandbox::{self, Run, Sandbox};
use preflight_soundness::{corpus, envelope_environments, inspect, judge};

/// Runs shell commands for real in a throwaway sandbox under `strace -f` and checks that
/// inspection listed (or covered with an opaque effect) every effect they had.
#[derive(Debug, Parser)]
#[command(name = "preflight-soundness", version)]
struct Args {
    /// The repository root (holds `corpus/`).
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    /// How many distinct commands to generate from the corpus (seeds included).
    #[arg(long, default_value_t = 6000)]
    count: usize,
    /// Run only this many commands, chosen evenly across the generated set.
    #[arg(long)]
    sample: Option<usize>,
    /// Sandboxes run at once.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Seconds a command may run before its sandbox is killed.
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
    /// Where templates and per-command trees are made (a tmpfs is fastest).
    #[arg(long, default_value = "/dev/shm/preflight-soundness")]
    workdir: PathBuf,
    /// Where `failures.jsonl` is written.
    #[arg(long, default_value = "target/soundness")]
    out: PathBuf,
    /// Print the generated commands (as JSON lines) and exit.
    #[arg(long)]
    list: bool,
    /// Run these commands only, printing every observed effect and its coverage.
    #[arg(long = "command", value_name = "CMD")]
    commands: Vec<String>,
    /// Print at most this many failing commands (all are in `failures.jsonl`).
    #[arg(long, default_value_t = usize::MAX)]
    max_print: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("preflight-soundness: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> Result<ExitCode, String> {
    let started = Instant::now();
    let timeout = Duration::from_secs_f64(args.timeout.max(0.1));
    let sandbox = Sandbox::prepare(&args.workdir, timeout).map_err(|e| e.to_string())?;
    eprintln!(
        "sandbox template ready in {:.1} s ({} paths)",
        started.elapsed().as_secs_f64(),
        sandbox.before().len()
    );
    let inspector = ActionInspector::new(envelope_environments());
    if !args.commands.is_empty() {
        return explain(&sandbox, &inspector, &args.commands);
    }
    let cases = corpus::load(&args.repo)?;
    let seeds: Vec<String> = cases.iter().map(|c| c.command.clone()).collect();
    let context = Context {
        cwd: sandbox::CWD.into(),
        home: sandbox::HOME.into(),
        user: sandbox::USER.into(),
        existing: sandbox.before().clone(),
        dirs: sandbox.dirs().clone(),
        path: sandbox::PATH_DIRS
            .iter()
            .map(|d| (*d).to_string())
            .collect(),
    };
    let generated = generate(&context, &seeds, args.count);
    let variants: Vec<Variant> = match args.sample {
        Some(n) if n < generated.len() => (0..n)
            .map(|i| generated[i * generated.len() / n].clone())
            .collect(),
        _ => generated,
    };
    eprintln!(
        "{} shell cases, {} commands to run ({:.1} s)",
        seeds.len(),
        variants.len(),
        started.elapsed().as_secs_f64()
    );
    if args.list {
        let mut stdout = std::io::stdout().lock();
        for v in &variants {
            let line = serde_json::json!({"command": v.command, "seed": cases[v.seed].source, "rewrites": v.rewrites});
            let _ = writeln!(stdout, "{line}");
        }
        let _ = sandbox.cleanup();
        return Ok(ExitCode::SUCCESS);
    }
    fs::create_dir_all(&args.out).map_err(|e| format!("creating {}: {e}", args.out.display()))?;
    let failures_path = args.out.join("failures.jsonl");
    let mut failures = std::io::BufWriter::new(
        fs::File::create(&failures_path)
            .map_err(|e| format!("creating {}: {e}", failures_path.display()))?,
    );
    let results = run_all(&sandbox, &inspector, &variants, args.jobs.max(1));
    let mut totals = Totals::default();
    let mut printed = 0usize;
    let mut stdout = std::io::stdout().lock();
    for (variant, result) in variants.iter().zip(results) {
        let (run, inspection) = match result {
            Ok(done) => done,
            Err(error) => {
                totals.errors += 1;
                let _ = writeln!(stdout, "SANDBOX ERROR: {:?}: {error}", variant.command);
                continue;
            }
        };
        if run.timed_out {
            let _ = writeln!(stdout, "TIMEOUT {:?}", variant.command);
        }
        let judged = judge(&run.observed, &inspection);
        totals.add(&variant.command, &judged, run.timed_out, run.elapsed);
        let missed: Vec<_> = judged
            .iter()
            .filter(|(_, c)| c.is_none())
            .map(|(o, _)| *o)
            .collect();
        if missed.is_empty() {
            continue;
        }
        let case = &cases[variant.seed];
        for effect in &missed {
            let failure = Failure {
                command: &variant.command,
                seed: &case.source,
                seed_command: &case.command,
                rewrites: &variant.rewrites,
                effect,
                inspection: &inspection.effects,
                timed_out: run.timed_out,
            };
            let line = serde_json::to_string(&failure).map_err(|e| e.to_string())?;
            writeln!(failures, "{line}")
                .map_err(|e| format!("writing {}: {e}", failures_path.display()))?;
        }
        if printed < args.max_print {
            printed += 1;
            let _ = writeln!(stdout, "UNSOUND {:?}", variant.command);
            let _ = writeln!(
                stdout,
                "  seed {} {:?} via {:?}",
                case.source, case.command, variant.rewrites
            );
            for effect in missed.iter().take(3) {
                let _ = writeln!(stdout, "  missed: {}", clip(&describe(effect), 300));
            }
            if missed.len() > 3 {
                let _ = writeln!(stdout, "  … and {} more", missed.len() - 3);
            }
            let effects = serde_json::to_string(&inspection.effects).unwrap_or_default();
            let _ = writeln!(stdout, "  inspection: {}", clip(&effects, 600));
        }
    }
    failures.flush().map_err(|e| e.to_string())?;
    let _ = sandbox.cleanup();
    let _ = writeln!(stdout, "failures written to {}", failures_path.display());
    let _ = write!(
        stdout,
        "{}",
        totals.summary(started.elapsed(), args.jobs.max(1))
    );
    let _ = writeln!(stdout, "{}", totals.final_line());
    Ok(if totals.unsound_effects > 0 || totals.errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

type Outcome = Result<(Run, Inspection), String>;

/// Runs every variant on `jobs` workers, each with its own sandbox slot.
fn run_all(
    sandbox: &Sandbox,
    inspector: &ActionInspector,
    variants: &[Variant],
    jobs: usize,
) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Outcome>>> =
        Mutex::new((0..variants.len()).map(|_| None).collect());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for slot in 0..jobs {
            let (next, done, results) = (&next, &done, &results);
            scope.spawn(move || {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(variant) = variants.get(index) else {
                        break;
                    };
                    let outcome = sandbox
                        .run(slot, &variant.command)
                        .map(|run| (run, inspect(inspector, &variant.command)))
                        .map_err(|e| e.to_string());
                    if let Ok(mut results) = results.lock() {
                        results[index] = Some(outcome);
                    }
                    let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if finished % 500 == 0 {
                        eprintln!(
                            "  {finished}/{} commands ({:.0} s)",
                            variants.len(),
                            started.elapsed().as_secs_f64()
                        );
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("not run".to_string())))
        .collect()
}

/// `--command`: every observed effect of each command with its coverage.
fn explain(
    sandbox: &Sandbox,
    inspector: &ActionInspector,
    commands: &[String],
) -> Result<ExitCode, String> {
    let mut unsound = 0usize;
    for command in commands {
        let run = sandbox.run(0, command).map_err(|e| e.to_string())?;
        let inspection = inspect(inspector, command);
        println!("command {command:?}");
        println!(
            "  status {:?}, {} calls traced, {:.0} ms{}",
            run.status,
            run.calls,
            run.elapsed.as_secs_f64() * 1000.0,
            if run.timed_out { ", timed out" } else { "" }
        );
        for effect in &inspection.effects {
            println!(
                "  inspected {}",
                serde_json::to_string(effect).unwrap_or_default()
            );
        }
        for (observed, cover) in judge(&run.observed, &inspection) {
            let verdict = cover.map_or("UNSOUND", |c| c.as_str());
            if cover.is_none() {
                unsound += 1;
            }
            println!("  {verdict:<14} {}", describe(observed));
        }
    }
    let _ = sandbox.cleanup();
    Ok(if unsound > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
