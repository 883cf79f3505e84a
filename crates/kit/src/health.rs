//! Readiness: a service is SERVING only while every dependency it needs answers.
//!
//! Each dependency is a named [`Check`]. A background task runs them every
//! `interval`, sets the gRPC health status of the service name `""` (readiness) and keeps
//! the last reason of each failure, served by `egide.common.v1.StatusService`. The service
//! name `"liveness"` is SERVING for as long as the process runs.

use std::{
    collections::BTreeMap,
    future::Future,
    pin::Pin,
    sync::{Arc, RwLock},
    time::{Duration, SystemTime},
};

use tokio_util::sync::CancellationToken;
use tonic_health::{ServingStatus, server::HealthReporter};

/// The boxed future a check returns: `Err(reason)` when the dependency does not answer.
pub type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// A dependency check.
pub type Check = Arc<dyn Fn() -> CheckFuture + Send + Sync>;

/// The last known state of one dependency.
#[derive(Clone, Debug)]
pub struct DependencyState {
    /// Whether it answered.
    pub ok: bool,
    /// Why not, when it did not.
    pub reason: String,
    /// When it was last checked.
    pub checked_at: SystemTime,
}

/// The readiness of one service, shared by the health task and the status service.
#[derive(Clone)]
pub struct Readiness {
    checks: Arc<Vec<(String, Check)>>,
    states: Arc<RwLock<BTreeMap<String, DependencyState>>>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readiness")
            .field(
                "checks",
                &self.checks.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Readiness {
    /// Readiness over the given named checks.
    pub fn new(checks: Vec<(String, Check)>) -> Self {
        Self {
            checks: Arc::new(checks),
            states: Arc::default(),
        }
    }

    /// Runs every check once, concurrently, and records the results.
    pub async fn check_now(&self) -> bool {
        let results = futures::future::join_all(self.checks.iter().map(|(name, check)| {
            let fut = check();
            async move {
                let result = tokio::time::timeout(Duration::from_secs(3), fut)
                    .await
                    .unwrap_or_else(|_| Err("no answer within 3 s".to_owned()));
                (name.clone(), result)
            }
        }))
        .await;
        let mut all_ok = true;
        let now = SystemTime::now();
        let mut states = match self.states.write() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        for (name, result) in results {
            let was_ok = states.get(&name).map(|s| s.ok);
            let state = match result {
                Ok(()) => DependencyState {
                    ok: true,
                    reason: String::new(),
                    checked_at: now,
                },
                Err(reason) => {
                    all_ok = false;
                    DependencyState {
                        ok: false,
                        reason,
                        checked_at: now,
                    }
                }
            };
            if was_ok != Some(state.ok) {
                if state.ok {
                    tracing::info!(dependency = %name, "dependency answers");
                } else {
                    tracing::warn!(dependency = %name, reason = %state.reason, "dependency does not answer");
                }
            }
            states.insert(name, state);
        }
        all_ok
    }

    /// The last recorded state of every dependency.
    pub fn states(&self) -> BTreeMap<String, DependencyState> {
        match self.states.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Whether every dependency answered at the last check.
    pub fn is_ready(&self) -> bool {
        let states = self.states();
        states.len() == self.checks.len() && states.values().all(|s| s.ok)
    }

    /// Runs the checks every `interval` until `shutdown`, updating `reporter`.
    pub async fn run(
        self,
        reporter: HealthReporter,
        interval: Duration,
        shutdown: CancellationToken,
    ) {
        reporter
            .set_service_status("liveness", ServingStatus::Serving)
            .await;
        loop {
            let status = if self.check_now().await {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            reporter.set_service_status("", status).await;
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(interval) => {}
            }
        }
        reporter
            .set_service_status("", ServingStatus::NotServing)
            .await;
    }
}

/// Makes a [`Check`] from an async closure.
pub fn check<F, Fut>(f: F) -> Check
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    Arc::new(move || Box::pin(f()))
}
