//! Measures the synthetic generator and the RPPS parser:
//! `cargo run --release -p egide-directory --example parse_rate [lines]`.
//!
//! Writes an RPPS extract of about `lines` activity lines (default
//! 2,000,000) to a temporary directory, then parses it through the
//! [`LineSplitter`](egide_directory::lines::LineSplitter) with
//! [`rpps::parse_activity`], twice: from the file, and from memory.

use std::fs::File;
use std::ops::ControlFlow;
use std::process::ExitCode;
use std::time::Instant;

use egide_directory::lines::{DEFAULT_MAX_LINE_LEN, for_each_line};
use egide_directory::rpps;
use egide_directory::synth::{SynthSpec, write_all};
use egide_ids::RppsPolicy;

/// Parses every line after the header; returns (rows, rejects).
fn parse(reader: impl std::io::Read) -> std::io::Result<(u64, u64)> {
    let policy = RppsPolicy::strict();
    let (mut rows, mut rejects) = (0_u64, 0_u64);
    for_each_line(reader, DEFAULT_MAX_LINE_LEN, |line| {
        if line.number() > 1 {
            match line.parse(|bytes| rpps::parse_activity(bytes, &policy)) {
                Ok(activity) => {
                    rows += 1;
                    std::hint::black_box(activity);
                }
                Err(_) => rejects += 1,
            }
        }
        ControlFlow::<()>::Continue(())
    })?;
    Ok((rows, rejects))
}

fn main() -> ExitCode {
    let lines: usize = match std::env::args().nth(1).map(|s| s.parse()) {
        None => 2_000_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("lines: {e}");
            return ExitCode::from(64);
        }
    };
    match run(lines) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn run(lines: usize) -> std::io::Result<()> {
    let dir = tempfile::tempdir()?;
    let spec = SynthSpec {
        // 1.53 activities per professional on average.
        professionals: lines * 100 / 153,
        structures: 50_000,
        identities: 0,
        broken: 0,
        ..SynthSpec::default()
    };
    let started = Instant::now();
    let manifest = write_all(dir.path(), &spec)?;
    let write_time = started.elapsed();
    let size = std::fs::metadata(&manifest.rpps_file)?.len();
    println!(
        "synth: {} activity lines ({} professionals, {:.0} MiB RPPS file) + {} establishments in {:.2?}",
        manifest.activity_lines,
        manifest.professionals,
        size as f64 / 1_048_576.0,
        manifest.establishments,
        write_time
    );

    let started = Instant::now();
    let (rows, rejects) = parse(File::open(&manifest.rpps_file)?)?;
    let elapsed = started.elapsed();
    println!(
        "parse from file: {rows} rows, {rejects} rejects in {elapsed:.2?}: {:.0} rows/s, {:.0} MiB/s",
        rows as f64 / elapsed.as_secs_f64(),
        size as f64 / 1_048_576.0 / elapsed.as_secs_f64()
    );

    let bytes = std::fs::read(&manifest.rpps_file)?;
    let started = Instant::now();
    let (rows, _) = parse(bytes.as_slice())?;
    let elapsed = started.elapsed();
    println!(
        "parse from memory: {rows} rows in {elapsed:.2?}: {:.0} rows/s",
        rows as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
