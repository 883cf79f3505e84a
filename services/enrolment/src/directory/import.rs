//! The `ImportDirectory` stream: read, check, stage, apply — one transaction.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use egide_directory::{
    FileError, RowError,
    lines::{DEFAULT_MAX_LINE_LEN, Line, LineSplitter},
};
use egide_kit::{
    ApiError,
    events::{NewEvent, Payload, actor},
};
use egide_proto::enrolment::v1::{
    self as pb, DirectorySource, import_directory_request::Part as In,
    import_directory_response::Part as Out,
};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbErr, Statement, TransactionTrait, Value,
    sqlx::{self, PgConnection, Postgres, Transaction},
};
use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};
use uuid::Uuid;

use super::{apply::Applied, finess, ins, rights, rpps, source_name, status};
use crate::{Ctx, api::ImportStream};

/// Rejects kept per import (all are counted; details beyond this are dropped).
pub const MAX_STORED_REJECTS: usize = 100_000;
/// Rejects streamed to the client.
const MAX_SENT_REJECTS: u64 = 10_000;
/// Staging rows are sent to Postgres in batches of about this many bytes.
const COPY_BATCH: usize = 1 << 20;

/// What each source does with its lines.
pub trait Sink: Send {
    /// `CREATE TEMP TABLE … ON COMMIT DROP` of the staging table, and its `COPY` statement.
    fn staging(&self) -> (&'static str, &'static str);
    /// Checks the first line (header or metadata); may return the extract's date.
    fn first_line(&mut self, line: &[u8]) -> Result<Option<DateTime<Utc>>, FileError>;
    /// Checks one data line and appends its staging rows to `out`.
    fn line(&mut self, line: Line<'_>, out: &mut Vec<u8>) -> Result<(), RowError>;
    /// End of input: appends whatever is still pending.
    fn finish(&mut self, out: &mut Vec<u8>);
    /// For sources that group rows into entities: the keys that may have been staged more
    /// than once (`Some(None)`: too many to list).
    fn suspects(&mut self) -> Option<Option<Vec<String>>> {
        None
    }
}

/// One refused row.
#[derive(Debug, Clone)]
pub struct Reject {
    /// 1-based line.
    pub line: u64,
    /// Stable code.
    pub code: String,
    /// Reason (no identity traits).
    pub reason: String,
}

impl Reject {
    fn to_proto(&self) -> pb::ImportReject {
        pb::ImportReject {
            line: self.line,
            code: self.code.clone(),
            reason: self.reason.clone(),
        }
    }
}

/// The advisory lock key of a source's imports.
fn lock_sql() -> &'static str {
    "SELECT pg_try_advisory_xact_lock(hashtext('egide.directory.' || $1)::bigint)"
}

/// Marks imports left `running` by a process that died as `interrupted` (each only when
/// no live process holds its source's lock).
pub async fn mark_interrupted(db: &DatabaseConnection) -> Result<(), DbErr> {
    for source in ["rpps", "finess", "ins", "rights"] {
        let txn = db.begin().await?;
        let locked = txn
            .query_one(Statement::from_sql_and_values(
                txn.get_database_backend(),
                lock_sql(),
                [Value::from(source)],
            ))
            .await?
            .map(|r| r.try_get_by_index::<bool>(0))
            .transpose()?
            .unwrap_or(false);
        if locked {
            txn.execute(Statement::from_sql_and_values(
                txn.get_database_backend(),
                "UPDATE directory_imports SET state = 'interrupted', finished_at = now() \
                 WHERE source = $1 AND state = 'running'",
                [Value::from(source)],
            ))
            .await?;
        }
        txn.commit().await?;
    }
    Ok(())
}

fn sink_for(ctx: &Ctx, source: DirectorySource) -> Box<dyn Sink> {
    match source {
        DirectorySource::Rpps => Box::new(rpps::RppsSink::new(&ctx.config.directory)),
        DirectorySource::Finess => Box::new(finess::FinessSink),
        DirectorySource::Ins => Box::new(ins::InsSink),
        _ => Box::new(rights::RightsSink),
    }
}

/// A running import.
pub struct Job {
    ctx: Ctx,
    id: Uuid,
    source: DirectorySource,
    name: &'static str,
    header: pb::ImportHeader,
    /// The verified operator running it.
    operator: String,
    extracted_at: Option<DateTime<Utc>>,
    last_extracted_at: Option<DateTime<Utc>>,
    backend_pid: i32,
    out: mpsc::Sender<Result<pb::ImportDirectoryResponse, Status>>,
}

/// Starts an import: checks the header, takes the source's lock, records the import as
/// running and returns the response stream while the import runs in a task.
pub async fn start(
    ctx: Ctx,
    operator: String,
    mut inbound: Streaming<pb::ImportDirectoryRequest>,
) -> Result<ImportStream, ApiError> {
    let header = match inbound.message().await {
        Ok(Some(pb::ImportDirectoryRequest {
            part: Some(In::Header(h)),
        })) => h,
        Ok(_) => {
            return Err(ApiError::invalid_field(
                "header",
                "the first message must be the header",
            ));
        }
        Err(status) => {
            return Err(ApiError::new(
                status.code(),
                "client_error",
                status.message().to_owned(),
            ));
        }
    };
    let source = DirectorySource::try_from(header.source).unwrap_or(DirectorySource::Unspecified);
    let Some(name) = source_name(source) else {
        return Err(ApiError::invalid_field(
            "header.source",
            "rpps, finess, ins or rights",
        ));
    };
    let file_name = header.file_name.trim();
    if file_name.is_empty()
        || file_name.len() > 255
        || file_name.contains(['/', '\\'])
        || file_name.chars().any(char::is_control)
    {
        return Err(ApiError::invalid_field(
            "header.file_name",
            "the file's base name, 1 to 255 characters",
        ));
    }
    let extracted_at = match source {
        DirectorySource::Rpps => Some(
            egide_directory::rpps::extract_time(file_name)
                .ok_or_else(|| {
                    ApiError::invalid_field(
                        "header.file_name",
                        "PS_LibreAcces_Personne_activite_<YYYYMMDDhhmm>.txt",
                    )
                })?
                .and_utc(),
        ),
        _ => None,
    };
    let db = &ctx.platform.db;
    let last_extracted_at = status::last_extracted_at(db, name).await?;
    check_order(extracted_at, last_extracted_at, header.allow_older)?;

    let mut txn = db
        .get_postgres_connection_pool()
        .begin()
        .await
        .map_err(db_err)?;
    let locked: bool = sqlx::query_scalar(lock_sql())
        .bind(name)
        .fetch_one(&mut *txn)
        .await
        .map_err(db_err)?;
    let backend_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *txn)
        .await
        .map_err(db_err)?;
    // Grouping and joining a 2-million-row staging table with the default 4 MB spills to
    // disk over and over; a bulk import may use more, for this transaction only.
    sqlx::query("SET LOCAL work_mem = '128MB'")
        .execute(&mut *txn)
        .await
        .map_err(db_err)?;
    if !locked {
        return Err(ApiError::new(
            tonic::Code::Aborted,
            "import_running",
            format!("an import of {name} is running"),
        ));
    }
    // Whatever is still marked running for this source died with its process.
    sqlx::query("UPDATE directory_imports SET state = 'interrupted', finished_at = now() WHERE source = $1 AND state = 'running'")
        .bind(name)
        .execute(db.get_postgres_connection_pool())
        .await
        .map_err(db_err)?;
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO directory_imports (id, source, file_name, extracted_at, state, operator, started_at) \
         VALUES ($1, $2, $3, $4, 'running', $5, clock_timestamp())",
    )
    .bind(id)
    .bind(name)
    .bind(file_name)
    .bind(extracted_at)
    .bind(operator.as_str())
    .execute(db.get_postgres_connection_pool())
    .await
    .map_err(db_err)?;
    let (out, rx) = mpsc::channel(256);
    let job = Job {
        ctx,
        id,
        source,
        name,
        header,
        operator,
        extracted_at,
        last_extracted_at,
        backend_pid,
        out,
    };
    tokio::spawn(job.run(txn, inbound));
    Ok(Box::pin(ReceiverStream::new(rx)))
}

fn check_order(
    extracted_at: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    allow_older: bool,
) -> Result<(), ApiError> {
    match (extracted_at, last) {
        (Some(new), Some(last)) if new < last && !allow_older => {
            Err(ApiError::failed_precondition(
                "older_extract",
                format!(
                    "this extract ({new}) is older than the last one applied ({last}); set allow_older to apply it anyway"
                ),
            ))
        }
        _ => Ok(()),
    }
}

fn db_err(e: sqlx::Error) -> ApiError {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
            ApiError::unavailable(e)
        }
        other => ApiError::internal(other),
    }
}

/// What reading produced.
struct Read {
    counts: pb::ImportCounts,
    rejects: Vec<Reject>,
    sha256: String,
    extracted_at: Option<DateTime<Utc>>,
}

impl Job {
    async fn run(
        self,
        txn: Transaction<'static, Postgres>,
        inbound: Streaming<pb::ImportDirectoryRequest>,
    ) {
        let started = Instant::now();
        let pool = self.ctx.platform.db.get_postgres_connection_pool().clone();
        let outcome = {
            let import = self.import(txn, inbound);
            tokio::pin!(import);
            tokio::select! {
                outcome = &mut import => outcome,
                () = self.out.closed() => {
                    // The client went away (Ctrl-C): stop the statement in progress, so the
                    // import fails and rolls back now rather than applying unattended.
                    let _ = sqlx::query("SELECT pg_cancel_backend($1)").bind(self.backend_pid).execute(&pool).await;
                    let _ = import.await;
                    Err(ApiError::new(tonic::Code::Cancelled, "client_went_away", "the client went away; nothing was applied"))
                }
            }
        };
        match outcome {
            Ok(done) => {
                tracing::info!(import = %self.id, source = self.name, rows = done.counts.as_ref().map_or(0, |c| c.rows),
                    elapsed_ms = started.elapsed().as_millis() as u64, "directory import applied");
                self.ctx.platform.outbox.wake();
                let _ = self
                    .out
                    .send(Ok(pb::ImportDirectoryResponse {
                        part: Some(Out::Done(done)),
                    }))
                    .await;
                // Fresh planner statistics after a bulk change, rather than waiting for
                // autovacuum to notice (lookups right after a first import stay fast).
                let table = match self.source {
                    DirectorySource::Rpps => "professionals",
                    DirectorySource::Finess => "establishments",
                    DirectorySource::Ins => "ins_identities",
                    _ => "insured_rights",
                };
                if let Err(error) = sqlx::query(&format!("ANALYZE {table}"))
                    .execute(&pool)
                    .await
                {
                    tracing::warn!(%error, table, "analyze after import failed");
                }
            }
            Err(error) => {
                let message = format!("{error}");
                let _ = sqlx::query(
                    "UPDATE directory_imports SET state = 'failed', finished_at = clock_timestamp(), failure = $2 WHERE id = $1",
                )
                .bind(self.id)
                .bind(&message)
                .execute(&pool)
                .await;
                let _ = self.out.send(Err(Status::from(error))).await;
            }
        }
    }

    async fn progress(&self, read: &pb::ImportCounts, bytes: u64, phase: &str) {
        let _ = self
            .out
            .send(Ok(pb::ImportDirectoryResponse {
                part: Some(Out::Progress(pb::ImportProgress {
                    import_id: self.id.to_string(),
                    bytes_read: bytes,
                    lines: read.lines,
                    rows: read.rows,
                    rejected: read.rejected,
                    phase: phase.to_owned(),
                })),
            }))
            .await;
    }

    /// Stages, applies and records the import in `txn`, then commits; on failure rolls back
    /// before returning, so the source's lock is free when the client hears of it (a
    /// dropped sqlx transaction rolls back later, in the background: a client retrying at
    /// once was told `import_running`).
    async fn import(
        &self,
        mut txn: Transaction<'static, Postgres>,
        inbound: Streaming<pb::ImportDirectoryRequest>,
    ) -> Result<pb::DirectoryImport, ApiError> {
        match self.import_in(&mut txn, inbound).await {
            Ok(done) => {
                txn.commit().await.map_err(db_err)?;
                Ok(done)
            }
            Err(error) => {
                if let Err(e) = txn.rollback().await {
                    tracing::warn!(error = %e, import = %self.id, "rollback of a failed import");
                }
                Err(error)
            }
        }
    }

    async fn import_in(
        &self,
        txn: &mut Transaction<'static, Postgres>,
        inbound: Streaming<pb::ImportDirectoryRequest>,
    ) -> Result<pb::DirectoryImport, ApiError> {
        let mut clock = super::apply::Phases::new(self.id);
        let mut sink = sink_for(&self.ctx, self.source);
        let (ddl, copy_sql) = sink.staging();
        sqlx::query(ddl).execute(&mut **txn).await.map_err(db_err)?;
        let read = self.read(txn, sink.as_mut(), copy_sql, inbound).await?;
        clock.mark("read and stage");
        // A fresh temporary table has no statistics: without them the planner takes it for
        // a few pages and nests loops over two million rows.
        let staging = ddl
            .split_whitespace()
            .nth(3)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("staging DDL without a name")))?;
        sqlx::query(&format!("ANALYZE {staging}"))
            .execute(&mut **txn)
            .await
            .map_err(db_err)?;
        clock.mark("analyze staging");
        self.progress(&read.counts, 0, "applying").await;
        let applied = match self.source {
            DirectorySource::Rpps => rpps::apply(txn, self, sink.suspects().flatten()).await?,
            DirectorySource::Finess => finess::apply(txn, self).await?,
            DirectorySource::Ins => ins::apply(txn, self).await?,
            _ => rights::apply(txn, self).await?,
        };
        clock.mark("apply");
        // Rows found bad while applying (duplicates across the file) are streamed too,
        // within the same cap as the others.
        let room = MAX_SENT_REJECTS.saturating_sub(read.counts.rejected) as usize;
        for r in applied.extra_rejects.iter().take(room) {
            let _ = self
                .out
                .send(Ok(pb::ImportDirectoryResponse {
                    part: Some(Out::Reject(r.to_proto())),
                }))
                .await;
        }
        let done = self.finish(txn, read, applied).await;
        clock.mark("finish");
        done
    }

    /// The operator running the import.
    pub fn operator(&self) -> &str {
        &self.operator
    }

    /// The import id.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// Whether the operator allows mass deactivation.
    pub fn allow_mass_deactivation(&self) -> bool {
        self.header.allow_mass_deactivation
    }

    /// The configured deactivation limit.
    pub fn max_deactivation_ratio(&self) -> f64 {
        self.ctx.config.directory.max_deactivation_ratio
    }

    async fn read(
        &self,
        txn: &mut PgConnection,
        sink: &mut dyn Sink,
        copy_sql: &str,
        mut inbound: Streaming<pb::ImportDirectoryRequest>,
    ) -> Result<Read, ApiError> {
        let mut copy = txn.copy_in_raw(copy_sql).await.map_err(db_err)?;
        let mut splitter = LineSplitter::new(DEFAULT_MAX_LINE_LEN);
        let mut buf = Vec::with_capacity(COPY_BATCH + 64 * 1024);
        let mut counts = pb::ImportCounts::default();
        let mut rejects = Vec::new();
        let mut pending_rejects = Vec::new();
        let mut sha = Sha256::new();
        let mut bytes = 0_u64;
        let mut extracted_at = self.extracted_at;
        let mut first: Option<Result<(), FileError>> = None;
        let mut last_progress = Instant::now();
        let mut ended = false;
        while !ended {
            let chunk = match inbound.message().await {
                Ok(Some(pb::ImportDirectoryRequest {
                    part: Some(In::Chunk(c)),
                })) => Some(c),
                Ok(Some(_)) => {
                    let _ = copy.abort("bad client message").await;
                    return Err(ApiError::invalid_field(
                        "chunk",
                        "only chunks may follow the header",
                    ));
                }
                Ok(None) => None,
                Err(status) => {
                    let _ = copy.abort("client went away").await;
                    return Err(ApiError::new(
                        tonic::Code::Cancelled,
                        "client_error",
                        format!("the client stream failed: {}", status.message()),
                    ));
                }
            };
            match &chunk {
                Some(c) => {
                    sha.update(c);
                    bytes += c.len() as u64;
                    splitter.push(c);
                }
                None => ended = true,
            }
            loop {
                let line = if ended {
                    splitter.finish()
                } else {
                    splitter.next_line()
                };
                let Some(line) = line else { break };
                counts.lines += 1;
                if first.is_none() {
                    let result = match line.bytes() {
                        Some(b) => sink.first_line(b).map(|date| {
                            if date.is_some() {
                                extracted_at = date;
                            }
                        }),
                        None => Err(FileError::Empty),
                    };
                    first = Some(result);
                    continue;
                }
                let number = line.number();
                match sink.line(line, &mut buf) {
                    Ok(()) => counts.rows += 1,
                    Err(e) => {
                        counts.rejected += 1;
                        let r = Reject {
                            line: number,
                            code: e.code.to_owned(),
                            reason: e.message,
                        };
                        if counts.rejected <= MAX_SENT_REJECTS {
                            pending_rejects.push(r.clone());
                        }
                        if rejects.len() < MAX_STORED_REJECTS {
                            rejects.push(r);
                        }
                    }
                }
            }
            if let Some(Err(e)) = &first {
                let _ = copy.abort("bad file").await;
                return Err(ApiError::failed_precondition("bad_file", e.to_string())
                    .with_metadata("check", e.code()));
            }
            if matches!(first, Some(Ok(())))
                && self.source == DirectorySource::Finess
                && let Err(e) = check_order(
                    extracted_at,
                    self.last_extracted_at,
                    self.header.allow_older,
                )
            {
                let _ = copy.abort("older extract").await;
                return Err(e);
            }
            if ended {
                sink.finish(&mut buf);
            }
            if buf.len() >= COPY_BATCH || (ended && !buf.is_empty()) {
                copy.send(std::mem::take(&mut buf)).await.map_err(db_err)?;
                buf.reserve(COPY_BATCH + 64 * 1024);
            }
            for r in pending_rejects.drain(..) {
                let _ = self
                    .out
                    .send(Ok(pb::ImportDirectoryResponse {
                        part: Some(Out::Reject(r.to_proto())),
                    }))
                    .await;
            }
            if last_progress.elapsed() >= Duration::from_millis(500) {
                last_progress = Instant::now();
                self.progress(&counts, bytes, "reading").await;
            }
        }
        if first.is_none() {
            let _ = copy.abort("empty file").await;
            return Err(
                ApiError::failed_precondition("bad_file", FileError::Empty.to_string())
                    .with_metadata("check", FileError::Empty.code()),
            );
        }
        copy.finish().await.map_err(db_err)?;
        self.progress(&counts, bytes, "reading").await;
        let sha256 = sha.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Ok(Read {
            counts,
            rejects,
            sha256,
            extracted_at,
        })
    }

    async fn finish(
        &self,
        txn: &mut Transaction<'static, Postgres>,
        read: Read,
        applied: Applied,
    ) -> Result<pb::DirectoryImport, ApiError> {
        let mut counts = applied.counts;
        counts.lines = read.counts.lines;
        counts.rows = read.counts.rows - applied.extra_rejects.len() as u64;
        counts.rejected = read.counts.rejected + applied.extra_rejects.len() as u64;
        let mut rejects = read.rejects;
        rejects.extend(applied.extra_rejects);
        rejects.sort_by_key(|r| r.line);
        rejects.truncate(MAX_STORED_REJECTS);
        for chunk in rejects.chunks(10_000) {
            let lines: Vec<i64> = chunk.iter().map(|r| r.line as i64).collect();
            let codes: Vec<&str> = chunk.iter().map(|r| r.code.as_str()).collect();
            let reasons: Vec<&str> = chunk.iter().map(|r| r.reason.as_str()).collect();
            sqlx::query(
                "INSERT INTO directory_rejects (import_id, line, code, reason) \
                 SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING",
            )
            .bind(self.id)
            .bind(&lines)
            .bind(&codes)
            .bind(&reasons)
            .execute(&mut **txn)
            .await
            .map_err(db_err)?;
        }
        sqlx::query(
            "UPDATE directory_imports SET state = 'completed', finished_at = clock_timestamp(), sha256 = $2, \
             extracted_at = $3, lines = $4, rows = $5, rejected = $6, entities = $7, added = $8, \
             updated = $9, deactivated = $10, reactivated = $11, unchanged = $12 WHERE id = $1",
        )
        .bind(self.id)
        .bind(&read.sha256)
        .bind(read.extracted_at)
        .bind(counts.lines as i64)
        .bind(counts.rows as i64)
        .bind(counts.rejected as i64)
        .bind(counts.entities as i64)
        .bind(counts.added as i64)
        .bind(counts.updated as i64)
        .bind(counts.deactivated as i64)
        .bind(counts.reactivated as i64)
        .bind(counts.unchanged as i64)
        .execute(&mut **txn)
        .await
        .map_err(db_err)?;
        let done = status::load(txn, self.id).await?;
        let mut events = applied.events;
        events.push(
            NewEvent::new(
                "egide.enrolment.directory.imported",
                actor::operator(self.operator()),
                Payload::DirectoryImported(pb::DirectoryImported {
                    import: Some(done.clone()),
                }),
            )
            .about("directory_import", self.id.to_string()),
        );
        for chunk in events.chunks(10_000) {
            self.ctx
                .platform
                .outbox
                .enqueue_many_sqlx(txn, chunk.to_vec())
                .await
                .map_err(db_err)?;
        }
        Ok(done)
    }
}

pub use Job as ImportJob;
