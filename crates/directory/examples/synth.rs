//! Writes a synthetic set of directory files: `cargo run --release -p
//! egide-directory --example synth -- <dir> [professionals] [structures]
//! [identities] [broken] [seed]`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use egide_directory::synth::{SynthSpec, write_all};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first().map(PathBuf::from) else {
        eprintln!("usage: synth <dir> [professionals] [structures] [identities] [broken] [seed]");
        return ExitCode::from(64);
    };
    let number = |i: usize, default: u64| {
        args.get(i).map_or(Ok(default), |s| {
            s.parse::<u64>().map_err(|e| format!("argument {i}: {e}"))
        })
    };
    let spec = match (|| -> Result<SynthSpec, String> {
        Ok(SynthSpec {
            professionals: usize::try_from(number(1, 1_000)?).map_err(|e| e.to_string())?,
            structures: usize::try_from(number(2, 100)?).map_err(|e| e.to_string())?,
            identities: usize::try_from(number(3, 1_000)?).map_err(|e| e.to_string())?,
            broken: usize::try_from(number(4, 20)?).map_err(|e| e.to_string())?,
            seed: number(5, 1)?,
            ..SynthSpec::default()
        })
    })() {
        Ok(spec) => spec,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(64);
        }
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("{}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    let started = Instant::now();
    match write_all(&dir, &spec) {
        Ok(m) => {
            println!(
                "{} professionals, {} activity lines, {} establishments, {} identities, {} rights lines, {} broken rows in {:.2?}",
                m.professionals,
                m.activity_lines,
                m.establishments,
                m.identities,
                m.rights_lines,
                m.broken.len(),
                started.elapsed()
            );
            for b in &m.broken {
                println!("{}:{}: {}", b.file, b.line, b.code);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
