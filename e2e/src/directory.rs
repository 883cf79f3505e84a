//! Directory imports and professional lookups as an operator's tool and hospital software
//! do them: files streamed from disk through `ImportDirectory`, lookups by idNat_PS.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use egide_proto::enrolment::v1::{
    DirectoryImport, DirectorySource, GetProfessionalRequest, ImportDirectoryRequest, ImportHeader,
    enrolment_service_client::EnrolmentServiceClient, import_directory_request::Part,
    import_directory_response::Part as Out,
};
use tokio::io::AsyncReadExt as _;
use tonic::transport::Channel;

/// Chunk size of a streamed file (under the services' 256 KiB message limit).
pub const CHUNK: usize = 192 * 1024;

/// What an import returned.
#[derive(Debug)]
pub struct Imported {
    /// The import as it ended.
    pub done: DirectoryImport,
    /// Rejects streamed back.
    pub rejects: usize,
    /// Wall time from the first byte sent to the result.
    pub elapsed: Duration,
}

/// Streams `path` as a `source` file, reading it in [`CHUNK`]s (flat memory), and waits
/// for the result. `on_progress(bytes_read)` is called on every progress message.
/// `operator` authorises it (see `Platform::operator_metadata`).
pub async fn import_file(
    client: &mut EnrolmentServiceClient<Channel>,
    operator: tonic::metadata::MetadataMap,
    source: DirectorySource,
    path: &Path,
    header: ImportHeader,
    on_progress: impl Fn(u64),
) -> anyhow::Result<Imported> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .context("file name")?
        .to_owned();
    let size = tokio::fs::metadata(path).await?.len();
    let mut file = tokio::fs::File::open(path)
        .await
        .with_context(|| format!("open {}", path.display()))?;
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let first = ImportDirectoryRequest {
        part: Some(Part::Header(ImportHeader {
            source: source as i32,
            file_name: name,
            size_bytes: size,
            ..header
        })),
    };
    tx.send(first).await.ok().context("request stream")?;
    let reader = tokio::spawn(async move {
        loop {
            let mut buf = vec![0_u8; CHUNK];
            let n = file.read(&mut buf).await?;
            if n == 0 {
                return anyhow::Ok(());
            }
            buf.truncate(n);
            if tx
                .send(ImportDirectoryRequest {
                    part: Some(Part::Chunk(buf)),
                })
                .await
                .is_err()
            {
                return Ok(());
            }
        }
    });
    let started = Instant::now();
    let mut request = tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(rx));
    *request.metadata_mut() = operator;
    request.set_timeout(Duration::from_secs(6 * 3600));
    let mut stream = client.import_directory(request).await?.into_inner();
    let mut rejects = 0;
    while let Some(message) = stream.message().await? {
        match message.part {
            Some(Out::Progress(p)) => on_progress(p.bytes_read),
            Some(Out::Reject(_)) => rejects += 1,
            Some(Out::Done(done)) => {
                reader.await??;
                return Ok(Imported {
                    done,
                    rejects,
                    elapsed: started.elapsed(),
                });
            }
            None => {}
        }
    }
    anyhow::bail!("the import stream ended without a result")
}

/// What a lookup load measured.
#[derive(Debug, Default)]
pub struct Lookups {
    /// Successful lookups.
    pub ok: usize,
    /// Failures (first few kept).
    pub errors: Vec<String>,
    /// Latency of every success.
    pub latencies: Vec<Duration>,
    /// Wall time.
    pub elapsed: Duration,
}

impl Lookups {
    /// The `q` quantile (0..=1) of the latencies.
    pub fn quantile(&self, q: f64) -> Duration {
        let mut l = self.latencies.clone();
        l.sort_unstable();
        match l.len() {
            0 => Duration::ZERO,
            n => l[((n - 1) as f64 * q).round() as usize],
        }
    }
}

/// `concurrency` callers spread over `clients` look up `ids` round-robin for `duration`.
pub async fn lookup_professionals(
    clients: Vec<EnrolmentServiceClient<Channel>>,
    ids: Arc<Vec<String>>,
    concurrency: usize,
    duration: Duration,
) -> Lookups {
    let started = Instant::now();
    let deadline = started + duration;
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..concurrency.max(1) {
        let mut client = clients[i % clients.len()].clone();
        let (ids, next) = (ids.clone(), next.clone());
        tasks.spawn(async move {
            let mut out = Lookups::default();
            while Instant::now() < deadline {
                let id = ids[next.fetch_add(7919, Ordering::Relaxed) % ids.len()].clone();
                let t = Instant::now();
                match client
                    .get_professional(GetProfessionalRequest { id_nat_ps: id })
                    .await
                {
                    Ok(_) => {
                        out.ok += 1;
                        out.latencies.push(t.elapsed());
                    }
                    Err(s) if out.errors.len() < 5 => {
                        out.errors.push(format!("{:?}: {}", s.code(), s.message()));
                    }
                    Err(_) => {}
                }
            }
            out
        });
    }
    let mut all = Lookups::default();
    while let Some(Ok(part)) = tasks.join_next().await {
        all.ok += part.ok;
        all.errors.extend(part.errors);
        all.latencies.extend(part.latencies);
    }
    all.elapsed = started.elapsed();
    all
}

/// Open-loop lookups: `rate` requests per second for `duration`, each sent at its
/// scheduled time whatever the previous ones do, latency counted from that time (no
/// coordinated omission).
pub async fn lookup_professionals_paced(
    clients: Vec<EnrolmentServiceClient<Channel>>,
    ids: Arc<Vec<String>>,
    rate: u32,
    duration: Duration,
) -> Lookups {
    const TICK: Duration = Duration::from_millis(5);
    let per_tick = (f64::from(rate) * TICK.as_secs_f64()).round().max(1.0) as usize;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut n = 0_usize;
    let ticks = (duration.as_secs_f64() / TICK.as_secs_f64()) as usize;
    for t in 0..ticks {
        tick.tick().await;
        let scheduled = started + TICK * t as u32;
        for _ in 0..per_tick {
            let mut client = clients[n % clients.len()].clone();
            let id = ids[(n * 7919) % ids.len()].clone();
            n += 1;
            tasks.spawn(async move {
                let r = client
                    .get_professional(GetProfessionalRequest { id_nat_ps: id })
                    .await;
                (
                    r.map(|_| ())
                        .map_err(|s| format!("{:?}: {}", s.code(), s.message())),
                    scheduled.elapsed(),
                )
            });
        }
    }
    let mut all = Lookups::default();
    while let Some(Ok((result, latency))) = tasks.join_next().await {
        match result {
            Ok(()) => {
                all.ok += 1;
                all.latencies.push(latency);
            }
            Err(e) if all.errors.len() < 5 => all.errors.push(e),
            Err(_) => {}
        }
    }
    all.elapsed = started.elapsed();
    all
}
