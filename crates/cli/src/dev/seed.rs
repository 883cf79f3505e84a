//! The demo directory: synthesised into `<run_dir>/directory/` on the first `dev up` and
//! imported through the gateway, so that `egide patient enrol` and `egide professional
//! activate` work right away.

use std::{
    io::BufRead as _,
    path::{Path, PathBuf},
    process::ExitCode,
};

use egide_directory::{finess, ins, rpps, synth::SynthSpec};
use egide_ids::RppsPolicy;
use egide_proto::enrolment::v1::{DirectorySource, ImportState};

use crate::directory::{ImportOptions, Verbosity, import_files, write_synth};

/// Small enough to import in a second or two.
fn demo_spec() -> SynthSpec {
    SynthSpec {
        professionals: 2_000,
        structures: 300,
        identities: 200,
        broken: 0,
        seed: 1,
        ..SynthSpec::default()
    }
}

/// What the summary suggests trying.
#[derive(Default)]
pub struct Demo {
    /// A professional of the demo directory with an e-mail and a phone.
    pub id_nat_ps: Option<String>,
    /// An establishment of the demo FINESS file.
    pub finess: Option<String>,
}

/// Synthesises the demo directory if `<run_dir>/directory/` does not exist, then imports
/// each of its files whose source has never been imported completely.
pub async fn ensure(run_dir: &Path) -> anyhow::Result<Demo> {
    let dir = run_dir.join("directory");
    if !dir.exists() {
        // Written aside and renamed: an interrupted run leaves no half directory behind.
        let partial = run_dir.join("directory.partial");
        if partial.exists() {
            std::fs::remove_dir_all(&partial)?;
        }
        write_synth(&partial, demo_spec()).await?;
        std::fs::rename(&partial, &dir)?;
        println!("  directory demo files written to {}", dir.display());
    }
    // Imports are an operator's: the first operator, with two factors.
    super::operator::ensure_session(run_dir, &run_dir.join("operator-password")).await?;
    let imported = crate::directory::imports(run_dir).await?.imports;
    let files: Vec<(DirectorySource, PathBuf)> = demo_files(&dir)?
        .into_iter()
        .filter(|(source, _)| {
            !imported
                .iter()
                .any(|i| i.source() == *source && i.state() == ImportState::Completed)
        })
        .collect();
    if !files.is_empty() {
        let options = ImportOptions {
            allow_older: false,
            allow_mass_deactivation: false,
            access_token: crate::account::account_token(run_dir).await?,
        };
        println!("  directory importing the demo files:");
        if import_files(run_dir, &files, &options, Verbosity::Brief).await? != ExitCode::SUCCESS {
            anyhow::bail!("the demo directory import failed (see above)");
        }
    }
    let files = demo_files(&dir)?;
    let file_of = |wanted: DirectorySource| {
        files
            .iter()
            .find(|(source, _)| *source == wanted)
            .map(|(_, path)| path.as_path())
    };
    Ok(Demo {
        id_nat_ps: file_of(DirectorySource::Rpps).and_then(reachable_professional),
        finess: file_of(DirectorySource::Finess).and_then(first_establishment),
    })
}

/// The directory's files in import order (FINESS, RPPS, INS, rights), found by their
/// published names.
fn demo_files(dir: &Path) -> anyhow::Result<Vec<(DirectorySource, PathBuf)>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    let find = |matches: &dyn Fn(&str) -> bool| names.iter().rev().find(|n| matches(n));
    let found = [
        (
            DirectorySource::Finess,
            find(&|n| n.starts_with(finess::FILE_PREFIX)),
        ),
        (
            DirectorySource::Rpps,
            find(&|n| n.starts_with(rpps::FILE_PREFIX)),
        ),
        (
            DirectorySource::Ins,
            find(&|n| n == ins::IDENTITY_FILE_NAME),
        ),
        (
            DirectorySource::Rights,
            find(&|n| n == ins::RIGHTS_FILE_NAME),
        ),
    ];
    Ok(found
        .into_iter()
        .filter_map(|(source, name)| Some((source, dir.join(name?))))
        .collect())
}

/// The first professional of the RPPS file with an e-mail and a phone (e-CPS codes need
/// both).
fn reachable_professional(path: &Path) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    let policy = RppsPolicy::strict();
    std::io::BufReader::new(file)
        .lines()
        .skip(1)
        .map_while(Result::ok)
        .find_map(|line| {
            let a = rpps::parse_activity(line.as_bytes(), &policy).ok()?;
            let digits = a.phone.chars().filter(char::is_ascii_digit).count();
            (a.email.contains('@') && digits >= 8).then(|| a.id_nat_ps.to_string())
        })
}

/// The FINESS number of the first establishment (`structureet`) row of a FINESS file
/// (Latin-1: read as bytes; the number itself is ASCII).
fn first_establishment(path: &Path) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    let prefix = format!("{};", finess::ESTABLISHMENT_KIND);
    std::io::BufReader::new(file)
        .split(b'\n')
        .map_while(Result::ok)
        .find_map(|line| {
            let rest = line.strip_prefix(prefix.as_bytes())?;
            let number = rest.split(|b| *b == b';').next()?;
            Some(String::from_utf8_lossy(number).trim().to_owned())
        })
}
