//! Signs token inputs with the Vault transit key, many per Vault call.
//!
//! Requests queue on a channel; one task takes whatever is queued (up to
//! `sign_batch_max`) and sends it to Vault as one `batch_input`, with at most
//! `sign_concurrency` calls in flight. Nothing waits on a timer: a lone login is signed at
//! once, and under load the inputs that arrive while calls are in flight share the next
//! one (a millisecond or two of logins per call).

use std::sync::Arc;

use egide_kit::vault::{Vault, VaultError};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

type Reply = oneshot::Sender<Result<String, Arc<VaultError>>>;

struct Job {
    input: String,
    version: u64,
    reply: Reply,
}

/// A handle to the signing task.
#[derive(Clone, Debug)]
pub struct Signer {
    jobs: mpsc::Sender<Job>,
}

/// Why an input was not signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// Vault refused or is away.
    #[error(transparent)]
    Vault(Arc<VaultError>),
    /// The signing task is gone (shutting down).
    #[error("token signer stopped")]
    Stopped,
}

impl Signer {
    /// Starts the signing task for transit key `key` until `shutdown`.
    pub fn start(
        vault: Vault,
        key: String,
        batch_max: usize,
        concurrency: usize,
        shutdown: CancellationToken,
    ) -> Self {
        let (jobs, rx) = mpsc::channel(batch_max.max(1) * concurrency.max(1) * 4);
        tokio::spawn(run(
            vault,
            key,
            batch_max.max(1),
            concurrency.max(1),
            rx,
            shutdown,
        ));
        Self { jobs }
    }

    /// The base64url JWS signature of `input` by version `version` of the key.
    pub async fn sign(&self, input: String, version: u64) -> Result<String, SignError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job {
                input,
                version,
                reply,
            })
            .await
            .map_err(|_| SignError::Stopped)?;
        answer
            .await
            .map_err(|_| SignError::Stopped)?
            .map_err(SignError::Vault)
    }
}

async fn run(
    vault: Vault,
    key: String,
    batch_max: usize,
    concurrency: usize,
    mut rx: mpsc::Receiver<Job>,
    shutdown: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(concurrency));
    let key: Arc<str> = key.into();
    loop {
        // Wait for a free slot first: meanwhile jobs pile up and form the next batch.
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let first = tokio::select! {
            () = shutdown.cancelled() => return,
            job = rx.recv() => match job { Some(job) => job, None => return },
        };
        let mut batch = vec![first];
        while batch.len() < batch_max {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let vault = vault.clone();
        let key = key.clone();
        tokio::spawn(async move {
            sign_batch(&vault, &key, batch).await;
            drop(permit);
        });
    }
}

/// One Vault call per key version present in the batch (a rotation noticed mid-batch).
async fn sign_batch(vault: &Vault, key: &str, mut batch: Vec<Job>) {
    batch.sort_by_key(|j| j.version);
    while !batch.is_empty() {
        let version = batch[0].version;
        let split = batch
            .iter()
            .position(|j| j.version != version)
            .unwrap_or(batch.len());
        let rest = batch.split_off(split);
        let inputs: Vec<&[u8]> = batch.iter().map(|j| j.input.as_bytes()).collect();
        match vault.sign_batch_jws(key, version, &inputs).await {
            Ok(signatures) => {
                for (job, signature) in batch.into_iter().zip(signatures) {
                    let _ = job.reply.send(Ok(signature));
                }
            }
            Err(error) => {
                let error = Arc::new(error);
                for job in batch {
                    let _ = job.reply.send(Err(error.clone()));
                }
            }
        }
        batch = rest;
    }
}
