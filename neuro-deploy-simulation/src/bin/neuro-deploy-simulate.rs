//! `neuro-deploy-simulate`: runs a campaign of seeded histories (`--seeds N [--from SEED]`)
//! with a progress bar on stderr and a summary on stdout, or one history with its whole trace
//! (`--seed SEED`). Exits 1 at the first violated invariant, printing the seed, the history up
//! to it and the command that replays it; 2 on bad arguments. `scripts/simulate` runs it.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use neuro_deploy_simulation::{Summary, simulate, trace};

const USAGE: &str = "usage: neuro-deploy-simulate [--seeds N] [--from SEED] | --seed SEED";

enum Args {
    Campaign { from: u64, seeds: u64 },
    One(u64),
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut from = 0;
    let mut seeds = 100;
    let mut one = None;
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let value = rest
            .next()
            .ok_or_else(|| format!("{flag} needs a number; {USAGE}"))?;
        let number: u64 = value
            .parse()
            .map_err(|_| format!("{flag} takes a whole number, not `{value}`; {USAGE}"))?;
        match flag.as_str() {
            "--seeds" => seeds = number,
            "--from" => from = number,
            "--seed" => one = Some(number),
            other => return Err(format!("unknown argument `{other}`; {USAGE}")),
        }
    }
    Ok(match one {
        Some(seed) => Args::One(seed),
        None => Args::Campaign { from, seeds },
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let args = match parse(&args) {
        Ok(args) => args,
        Err(why) => {
            let _ = writeln!(err, "{why}");
            return ExitCode::from(2);
        }
    };
    let (from, seeds) = match args {
        Args::One(seed) => {
            let (result, text) = trace(seed);
            let _ = write!(out, "{text}");
            return match result {
                Ok(summary) => {
                    let _ = writeln!(out, "seed {seed}: every invariant held");
                    let _ = write!(out, "{}", figures(&summary, 1, 0.0));
                    ExitCode::SUCCESS
                }
                Err(violation) => {
                    let _ = writeln!(out, "{violation}");
                    ExitCode::FAILURE
                }
            };
        }
        Args::Campaign { from, seeds } => (from, seeds),
    };
    let began = Instant::now();
    let mut total = Summary::default();
    for (done, seed) in (from..from.saturating_add(seeds)).enumerate() {
        match simulate(seed) {
            Ok(summary) => total.add(&summary),
            Err(violation) => {
                let _ = writeln!(err);
                let _ = writeln!(out, "{violation}");
                let _ = writeln!(out, "({done} histories passed before it)");
                return ExitCode::FAILURE;
            }
        }
        let done = done as u64 + 1;
        if done.is_multiple_of(10) || done == seeds {
            let width = 40;
            let filled = (done * width / seeds.max(1)) as usize;
            let _ = write!(
                err,
                "\r[{}{}] {done}/{seeds} histories, seed {seed}",
                "#".repeat(filled),
                "-".repeat(width as usize - filled)
            );
        }
    }
    let _ = writeln!(err);
    let seconds = began.elapsed().as_secs_f64();
    let _ = writeln!(
        out,
        "seeds {from}..{}: every invariant held in every history",
        from.saturating_add(seeds)
    );
    let _ = write!(out, "{}", figures(&total, seeds, seconds));
    ExitCode::SUCCESS
}

/// The campaign's figures, one per line.
fn figures(total: &Summary, histories: u64, seconds: f64) -> String {
    let mut text = format!(
        "histories: {histories}\nsimulated time: {:.1} h\nsteps: {}\ninvariant checks: {}\nprocesses: {}\n",
        total.simulated.as_secs_f64() / 3600.0,
        total.steps,
        total.checks,
        total.processes
    );
    if seconds > 0.0 {
        text.push_str(&format!(
            "wall time: {seconds:.1} s ({:.1} histories/s)\n",
            histories as f64 / seconds
        ));
    }
    text.push_str("outcomes:\n");
    for (outcome, count) in &total.outcomes {
        text.push_str(&format!("  {outcome}: {count}\n"));
    }
    text.push_str("faults injected:\n");
    for (fault, count) in &total.faults {
        text.push_str(&format!("  {fault}: {count}\n"));
    }
    text
}
