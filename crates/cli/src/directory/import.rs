//! `egide directory import`: each file streamed through the bidi `ImportDirectory` RPC,
//! with a progress bar from the server's progress messages.
//!
//! Memory stays flat: a chunk is read from the file only when tonic asks for the next
//! message, so at most a few chunks are in flight whatever the file's size.

use std::{
    io,
    path::{Path, PathBuf},
    process::ExitCode,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use egide_proto::enrolment::v1::{
    DirectoryImport, DirectorySource, ImportDirectoryRequest, ImportHeader, ImportProgress,
    ImportState, import_directory_request, import_directory_response,
};
use futures::{Stream, StreamExt as _, stream};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::{io::AsyncReadExt as _, sync::oneshot};

use super::source_names;
use crate::client::{Enrolment, fmt_opt_time, gateway_with_timeout, short_enum};

/// Bytes per chunk message (the gateway refuses messages over 256 KiB).
const CHUNK: usize = 192 * 1024;
/// An import's deadline: the whole RPPS file may take a while.
const IMPORT_TIMEOUT: Duration = Duration::from_secs(6 * 3600);
/// Rejected rows printed to the terminal per file; all are listed by `directory rejects`.
const SHOWN_REJECTS: u64 = 20;

/// What every import of a run says in its header.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Apply even if the extract is older than the last one applied.
    pub allow_older: bool,
    /// Apply even if many active entries would be deactivated.
    pub allow_mass_deactivation: bool,
    /// The operator's access token (the import is theirs, recorded as such).
    pub access_token: String,
}

/// How much an import prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Progress bar, rejected rows, full summary.
    Full,
    /// One line per file (the `dev up` seeding).
    Brief,
}

/// Imports `files` in the given order, stopping at the first that does not complete.
/// Exit code 0 when all completed, 1 otherwise.
pub async fn import_files(
    run_dir: &Path,
    files: &[(DirectorySource, PathBuf)],
    options: &ImportOptions,
    verbosity: Verbosity,
) -> anyhow::Result<ExitCode> {
    let mut client = Enrolment::new(gateway_with_timeout(run_dir, IMPORT_TIMEOUT).await?);
    for (n, (source, path)) in files.iter().enumerate() {
        let done = import_one(&mut client, *source, path, options, verbosity).await;
        if matches!(&done, Ok(d) if d.state() == ImportState::Completed) {
            continue;
        }
        let rest: Vec<String> = files[n + 1..]
            .iter()
            .map(|(_, p)| p.display().to_string())
            .collect();
        if !rest.is_empty() {
            eprintln!(
                "not imported (stopped at the first failure): {}",
                rest.join(", ")
            );
        }
        // A refusal (a `tonic::Status`) is printed by `main`; a failed import was printed.
        return done.map(|_| ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Streams one file; returns the import as it ended.
async fn import_one(
    client: &mut Enrolment,
    source: DirectorySource,
    path: &Path,
    options: &ImportOptions,
    verbosity: Verbosity,
) -> anyhow::Result<DirectoryImport> {
    let file = tokio::fs::File::open(path)
        .await
        .with_context(|| format!("opening {}", path.display()))?;
    let size = file.metadata().await?.len();
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let header = ImportHeader {
        source: source.into(),
        file_name,
        size_bytes: size,
        allow_older: options.allow_older,
        allow_mass_deactivation: options.allow_mass_deactivation,
    };
    let (read_failed, mut read_failure) = oneshot::channel();
    let messages = stream::once(async move {
        ImportDirectoryRequest {
            part: Some(import_directory_request::Part::Header(header)),
        }
    })
    .chain(chunks(file, read_failed));
    let mut request = tonic::Request::new(messages);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", options.access_token).parse()?,
    );
    request.set_timeout(IMPORT_TIMEOUT);

    let label = source_names(source).0;
    let mut view = ProgressView::new(label, path, size, verbosity)?;
    let mut responses = client.import_directory(request).await?.into_inner();
    let mut reading = true;
    let done = loop {
        tokio::select! {
            message = responses.message() => {
                use import_directory_response::Part;
                match message?.and_then(|m| m.part) {
                    Some(Part::Progress(p)) => view.progress(&p),
                    Some(Part::Reject(r)) => view.reject(r.line, &r.code, &r.reason),
                    Some(Part::Done(d)) => break d,
                    None => anyhow::bail!("{}: the import stream ended without a result", path.display()),
                }
            }
            failure = &mut read_failure, if reading => {
                reading = false;
                if let Ok(error) = failure {
                    // Dropping the call resets the stream: the server applies nothing.
                    view.finish();
                    return Err(anyhow::Error::new(error)
                        .context(format!("reading {} (import abandoned, nothing applied)", path.display())));
                }
            }
        }
    };
    view.finish();
    let seconds = view.seconds();
    if verbosity == Verbosity::Full {
        let more = done
            .counts
            .map_or(0, |c| c.rejected)
            .saturating_sub(view.shown);
        if more > 0 {
            eprintln!(
                "{}: … and {more} more rejected rows: egide directory rejects {}",
                path.display(),
                done.id
            );
        }
        print_import(&done, seconds);
    } else if done.state() == ImportState::Completed {
        print_brief(&done, seconds);
    } else {
        print_import(&done, seconds);
    }
    Ok(done)
}

/// The file's bytes as chunk messages, read on demand. A read error is handed to
/// `failed` and the stream then never ends: ending it would tell the server the file
/// is complete, and a truncated file must not be applied.
fn chunks(
    file: tokio::fs::File,
    failed: oneshot::Sender<io::Error>,
) -> impl Stream<Item = ImportDirectoryRequest> + Send + 'static {
    stream::unfold((file, Some(failed)), |(mut file, mut failed)| async move {
        let mut buf = Vec::with_capacity(CHUNK);
        match (&mut file).take(CHUNK as u64).read_to_end(&mut buf).await {
            Ok(0) => None,
            Ok(_) => Some((
                ImportDirectoryRequest {
                    part: Some(import_directory_request::Part::Chunk(buf)),
                },
                (file, failed),
            )),
            Err(error) => {
                if let Some(tx) = failed.take() {
                    let _ = tx.send(error);
                }
                std::future::pending().await
            }
        }
    })
}

/// The progress bar and the rejected rows printed so far.
struct ProgressView {
    bar: Option<ProgressBar>,
    file: String,
    started: Instant,
    shown: u64,
    applying: bool,
}

impl ProgressView {
    fn new(label: &str, path: &Path, size: u64, verbosity: Verbosity) -> anyhow::Result<Self> {
        let bar = match verbosity {
            Verbosity::Brief => None,
            Verbosity::Full => {
                let bar = ProgressBar::new(size).with_style(ProgressStyle::with_template(
                    "{prefix:>7} [{bar:30}] {bytes:>10}/{total_bytes:<10} {msg} eta {eta}",
                )?);
                bar.set_prefix(label.to_owned());
                bar.enable_steady_tick(Duration::from_millis(200));
                Some(bar)
            }
        };
        Ok(Self {
            bar,
            file: path.display().to_string(),
            started: Instant::now(),
            shown: 0,
            applying: false,
        })
    }

    fn progress(&mut self, p: &ImportProgress) {
        let Some(bar) = &self.bar else { return };
        if p.phase != "reading" {
            // Bytes no longer move: a spinner, once, instead of a bar.
            if !self.applying {
                self.applying = true;
                bar.set_style(
                    ProgressStyle::with_template("{prefix:>7} {spinner} {msg} {elapsed}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
            }
            bar.set_message(format!(
                "{}: {} rows, {} rejected",
                p.phase, p.rows, p.rejected
            ));
            return;
        }
        bar.set_position(p.bytes_read);
        bar.set_message(format!(
            "reading: {} rows ({:.0}/s), {} rejected",
            p.rows,
            p.rows as f64 / self.seconds(),
            p.rejected
        ));
    }

    /// Seconds since the import started, as the operator saw them.
    fn seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64().max(0.001)
    }

    fn reject(&mut self, line: u64, code: &str, reason: &str) {
        if self.bar.is_none() || self.shown >= SHOWN_REJECTS {
            return;
        }
        self.shown += 1;
        let text = format!("{}:{line}: {code}: {reason}", self.file);
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{text}")),
            None => eprintln!("{text}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn print_brief(i: &DirectoryImport, seconds: f64) {
    let c = i.counts.unwrap_or_default();
    println!(
        "  {:<7} {:>6} rows, {:>6} entities ({} added, {} updated) in {seconds:.1} s",
        source_names(i.source()).0,
        c.rows,
        c.entities,
        c.added,
        c.updated,
    );
}

/// The import's summary; `seconds` is the time it took as the client saw it.
fn print_import(i: &DirectoryImport, seconds: f64) {
    let c = i.counts.unwrap_or_default();
    println!(
        "{} {} {}",
        source_names(i.source()).0,
        i.file_name,
        short_enum(i.state().as_str_name(), "IMPORT_STATE_")
    );
    println!("  import      {}", i.id);
    if !i.failure.is_empty() {
        println!("  failure     {}", i.failure);
    }
    println!(
        "  extract     {}  sha256 {}",
        fmt_opt_time(i.extracted_at.as_ref()),
        i.sha256
    );
    println!(
        "  read        {} lines, {} rows, {} rejected",
        c.lines, c.rows, c.rejected
    );
    println!(
        "  entities    {}: {} added, {} updated, {} deactivated, {} reactivated, {} unchanged",
        c.entities, c.added, c.updated, c.deactivated, c.reactivated, c.unchanged
    );
    println!(
        "  elapsed     {seconds:.1} s, {:.0} rows/s",
        c.rows as f64 / seconds.max(0.001)
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn chunk_bytes(m: ImportDirectoryRequest) -> Vec<u8> {
        match m.part {
            Some(import_directory_request::Part::Chunk(bytes)) => bytes,
            other => panic!("not a chunk: {other:?}"),
        }
    }

    #[tokio::test]
    async fn chunks_cover_the_file_in_bounded_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..(2 * CHUNK + 1234)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let (tx, mut rx) = oneshot::channel();
        let file = tokio::fs::File::open(&path).await.unwrap();
        let pieces: Vec<Vec<u8>> = chunks(file, tx).map(chunk_bytes).collect().await;
        assert_eq!(
            pieces.iter().map(Vec::len).collect::<Vec<_>>(),
            [CHUNK, CHUNK, 1234]
        );
        assert_eq!(pieces.concat(), data);
        // A clean end drops the sender: no read failure is reported.
        assert!(rx.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_read_error_is_reported_and_never_ends_the_stream() {
        let dir = tempfile::tempdir().unwrap();
        // Opening a directory works; reading it fails (EISDIR).
        let file = tokio::fs::File::open(dir.path()).await.unwrap();
        let (tx, rx) = oneshot::channel();
        let mut stream = Box::pin(chunks(file, tx));
        let next = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
        assert!(next.is_err(), "the stream must stay open, not end");
        assert_eq!(rx.await.unwrap().raw_os_error(), Some(21));
    }
}
