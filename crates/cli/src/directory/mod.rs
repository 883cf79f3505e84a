//! `egide directory …`: the reference directories (RPPS, FINESS, INS, rights) —
//! synthetic files, imports, their status and rejected rows.

mod import;

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use egide_directory::synth::{SynthManifest, SynthSpec, write_all};
use egide_proto::enrolment::v1::{
    DirectoryImport, DirectorySource, ListDirectoryImportsRequest, ListDirectoryImportsResponse,
    ListImportRejectsRequest, ListImportRejectsResponse,
};

pub use self::import::{ImportOptions, Verbosity, import_files};
use crate::client::{JsonArg, Show, enrolment, fmt_opt_time, short_enum, show};

/// `egide directory …`
#[derive(Subcommand)]
pub enum DirectoryCommand {
    /// Writes a consistent set of synthetic directory files under their published names.
    Synth(SynthArgs),
    /// Streams directory files to enrolment (FINESS first, then RPPS, INS, rights).
    Import(ImportArgs),
    /// The last import of each source and the active entities.
    Status {
        #[command(flatten)]
        json: JsonArg,
    },
    /// The rows an import rejected, in line order.
    Rejects {
        /// The import's id (printed by `directory import` and `directory status`).
        import_id: String,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u64,
        #[command(flatten)]
        json: JsonArg,
    },
}

/// `egide directory synth` options.
#[derive(Args, Debug)]
pub struct SynthArgs {
    /// Directory to write into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Professionals (about 1.5 RPPS activity lines each).
    #[arg(long)]
    professionals: usize,
    /// FINESS establishments.
    #[arg(long)]
    structures: usize,
    /// INS identities (with their rights).
    #[arg(long, default_value_t = 1_000)]
    identities: usize,
    /// Deliberately broken rows, spread over the four files.
    #[arg(long, default_value_t = 0)]
    broken: usize,
    /// The same seed gives the same files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// `egide directory import` options.
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("files").required(true).multiple(true)))]
pub struct ImportArgs {
    /// Annuaire Santé extract `PS_LibreAcces_Personne_activite_<timestamp>.txt`.
    #[arg(long, group = "files")]
    rpps: Option<PathBuf>,
    /// FINESS extract `etalab-cs1100502-stock-<date>.csv`.
    #[arg(long, group = "files")]
    finess: Option<PathBuf>,
    /// INS reference `ins_reference.csv`.
    #[arg(long, group = "files")]
    ins: Option<PathBuf>,
    /// Rights reference `rights_reference.csv`.
    #[arg(long, group = "files")]
    rights: Option<PathBuf>,
    /// Apply even if an extract is older than the last one applied.
    #[arg(long)]
    allow_older: bool,
    /// Apply even if a file would deactivate more than the configured share of entries.
    #[arg(long)]
    allow_mass_deactivation: bool,
}

/// `egide directory …`
pub async fn run(run_dir: &Path, command: DirectoryCommand) -> anyhow::Result<ExitCode> {
    match command {
        DirectoryCommand::Synth(args) => synth(args).await,
        DirectoryCommand::Import(args) => {
            let files = [
                (DirectorySource::Finess, args.finess),
                (DirectorySource::Rpps, args.rpps),
                (DirectorySource::Ins, args.ins),
                (DirectorySource::Rights, args.rights),
            ]
            .into_iter()
            .filter_map(|(source, path)| Some((source, path?)))
            .collect::<Vec<_>>();
            // As the operator logged in: enrolment records who imported.
            let options = ImportOptions {
                allow_older: args.allow_older,
                allow_mass_deactivation: args.allow_mass_deactivation,
                access_token: crate::account::account_token(run_dir).await?,
            };
            import_files(run_dir, &files, &options, Verbosity::Full).await
        }
        DirectoryCommand::Status { json } => {
            show(&imports(run_dir).await?, json)?;
            Ok(ExitCode::SUCCESS)
        }
        DirectoryCommand::Rejects {
            import_id,
            limit,
            json,
        } => rejects(run_dir, import_id, limit, json).await,
    }
}

/// Writes synthetic files (blocking I/O, on a blocking thread: a big set takes a while).
pub async fn write_synth(out: &Path, spec: SynthSpec) -> anyhow::Result<SynthManifest> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let dir = out.to_path_buf();
    tokio::task::spawn_blocking(move || write_all(&dir, &spec))
        .await?
        .with_context(|| format!("writing into {}", out.display()))
}

async fn synth(args: SynthArgs) -> anyhow::Result<ExitCode> {
    let spec = SynthSpec {
        professionals: args.professionals,
        structures: args.structures,
        identities: args.identities,
        broken: args.broken,
        seed: args.seed,
        ..SynthSpec::default()
    };
    let m = write_synth(&args.out, spec).await?;
    let broken = |path: &Path| {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        m.broken_in(&name).count()
    };
    println!("wrote into {} (seed {}):", args.out.display(), args.seed);
    let rows = [
        (
            "FINESS",
            &m.finess_file,
            format!(
                "{} establishments, {} geolocations",
                m.establishments, m.geolocations
            ),
        ),
        (
            "RPPS",
            &m.rpps_file,
            format!(
                "{} professionals, {} activity lines",
                m.professionals, m.activity_lines
            ),
        ),
        (
            "INS",
            &m.identities_file,
            format!("{} identities", m.identities),
        ),
        (
            "rights",
            &m.rights_file,
            format!("{} lines", m.rights_lines),
        ),
    ];
    for (label, path, counts) in &rows {
        println!("  {label:<7} {}", path.display());
        println!("          {counts}, {} broken rows", broken(path));
    }
    println!("import them with:");
    println!(
        "  egide directory import --finess {} --rpps {} --ins {} --rights {}",
        m.finess_file.display(),
        m.rpps_file.display(),
        m.identities_file.display(),
        m.rights_file.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn rejects(
    run_dir: &Path,
    import_id: String,
    limit: u64,
    json: JsonArg,
) -> anyhow::Result<ExitCode> {
    let token = crate::account::account_token(run_dir).await?;
    let mut client = enrolment(run_dir).await?;
    let mut all = ListImportRejectsResponse::default();
    let mut after_line = 0;
    loop {
        let remaining = limit.saturating_sub(all.rejects.len() as u64);
        if remaining == 0 {
            break;
        }
        let page = client
            .list_import_rejects(crate::session::bearer(
                &token,
                ListImportRejectsRequest {
                    import_id: import_id.clone(),
                    after_line,
                    page_size: u32::try_from(remaining.min(1000)).unwrap_or(1000),
                },
            )?)
            .await?
            .into_inner();
        all.rejects.extend(page.rejects);
        all.next_after_line = page.next_after_line;
        if page.next_after_line == 0 {
            break;
        }
        after_line = page.next_after_line;
    }
    show(&all, json)?;
    Ok(ExitCode::SUCCESS)
}

impl Show for ListImportRejectsResponse {
    const NAME: &'static str = "egide.enrolment.v1.ListImportRejectsResponse";

    fn print(&self) {
        for r in &self.rejects {
            println!("{}: {}: {}", r.line, r.code, r.reason);
        }
        if self.rejects.is_empty() {
            println!("no rejected rows");
        }
        if self.next_after_line != 0 {
            println!("… more after line {} (raise --limit)", self.next_after_line);
        }
    }
}

/// A source's name for people, and its key in `active_entities`.
fn source_names(source: DirectorySource) -> (&'static str, &'static str) {
    match source {
        DirectorySource::Rpps => ("RPPS", "rpps"),
        DirectorySource::Finess => ("FINESS", "finess"),
        DirectorySource::Ins => ("INS", "ins"),
        DirectorySource::Rights => ("rights", "rights"),
        DirectorySource::Unspecified => ("?", "?"),
    }
}

impl Show for ListDirectoryImportsResponse {
    const NAME: &'static str = "egide.enrolment.v1.ListDirectoryImportsResponse";

    fn print(&self) {
        println!(
            "{:<7} {:>9}  {:<11} {:<10} {:>9} {:>8} {:>7} {:>7} {:>7}  {:<32}  import",
            "source",
            "active",
            "last",
            "extract",
            "rows",
            "rejected",
            "added",
            "updated",
            "deact.",
            "finished"
        );
        for source in [
            DirectorySource::Finess,
            DirectorySource::Rpps,
            DirectorySource::Ins,
            DirectorySource::Rights,
        ] {
            let (label, key) = source_names(source);
            let active = self.active_entities.get(key).copied().unwrap_or_default();
            // Newest first: the first of this source is its last import.
            match self.imports.iter().find(|i| i.source() == source) {
                Some(i) => {
                    let c = i.counts.unwrap_or_default();
                    println!(
                        "{label:<7} {active:>9}  {:<11} {:<10} {:>9} {:>8} {:>7} {:>7} {:>7}  {:<32}  {}",
                        short_enum(i.state().as_str_name(), "IMPORT_STATE_"),
                        extract_date(i),
                        c.rows,
                        c.rejected,
                        c.added,
                        c.updated,
                        c.deactivated,
                        fmt_opt_time(i.finished_at.as_ref()),
                        i.id
                    );
                    if !i.failure.is_empty() {
                        println!("        failure: {}", i.failure);
                    }
                }
                None => println!("{label:<7} {active:>9}  never imported"),
            }
        }
    }
}

/// The extract's date, `YYYY-MM-DD`.
fn extract_date(i: &DirectoryImport) -> String {
    let time = fmt_opt_time(i.extracted_at.as_ref());
    time.get(..10).unwrap_or(&time).to_owned()
}

/// The last import of each source and the active entities, asked as the operator logged in.
pub(crate) async fn imports(run_dir: &Path) -> anyhow::Result<ListDirectoryImportsResponse> {
    let token = crate::account::account_token(run_dir).await?;
    Ok(enrolment(run_dir)
        .await?
        .list_directory_imports(crate::session::bearer(
            &token,
            ListDirectoryImportsRequest {
                source: DirectorySource::Unspecified.into(),
                page_size: 200,
            },
        )?)
        .await?
        .into_inner())
}
