//! Sessions that ended or were revoked, followed from auth's events.
//!
//! Two ordered JetStream consumers (`egide.auth.session.revoked` and `.ended`; one each, as
//! nats-server 2.9 filters one subject per consumer) start `lookback` in the past, so a
//! gateway that starts, or restarts, knows every session whose tokens may still be live.
//! A session is remembered until its `tokens_expire_by`. While a follower is not
//! consuming (NATS away), revocations may be missed: the gateway then refuses tokens
//! rather than accept a revoked one (fail closed).

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU8, Ordering},
    },
    time::Duration,
};

use async_nats::{
    connection::State,
    jetstream::{self, consumer::DeliverPolicy, consumer::pull::OrderedConfig},
};
use egide_kit::events::{EventEnvelope, Payload};
use futures::StreamExt as _;
use prost::Message as _;
use tokio_util::sync::CancellationToken;

/// The subjects followed.
pub const SUBJECTS: [&str; 2] = ["egide.auth.session.revoked", "egide.auth.session.ended"];

/// Ended and revoked sessions, by session id, with the time (Unix seconds) after which
/// no token of theirs is valid anyway.
#[derive(Debug, Default)]
pub struct Revoked {
    sessions: Mutex<HashMap<String, i64>>,
    /// Followers currently consuming (both must be).
    live: AtomicU8,
}

impl Revoked {
    /// Whether session `sid` ended.
    pub fn contains(&self, sid: &str) -> bool {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(sid)
    }

    /// Whether every follower is consuming.
    pub fn is_live(&self) -> bool {
        usize::from(self.live.load(Ordering::Acquire)) == SUBJECTS.len()
    }

    /// Records that session `sid` ended; its tokens all expire by `until`.
    pub fn insert(&self, sid: String, until: i64) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let now = chrono::Utc::now().timestamp();
        if sessions.len().is_multiple_of(1024) {
            sessions.retain(|_, t| *t >= now);
        }
        if until >= now {
            sessions.insert(sid, until);
        }
    }

    /// How many sessions are remembered.
    pub fn len(&self) -> usize {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    fn apply(&self, payload: &[u8]) {
        match EventEnvelope::decode(payload) {
            Ok(EventEnvelope {
                payload: Some(Payload::SessionChanged(s)),
                ..
            }) => {
                let until = s.tokens_expire_by.as_ref().map_or(i64::MAX, |t| t.seconds);
                self.insert(s.session_id, until);
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "undecodable session event"),
        }
    }

    /// Follows `subject` until `shutdown`, from `lookback` ago.
    pub async fn follow(
        self: Arc<Self>,
        nats: async_nats::Client,
        stream: String,
        subject: &'static str,
        lookback: Duration,
        shutdown: CancellationToken,
    ) {
        let js = jetstream::new(nats.clone());
        let since = time::OffsetDateTime::now_utc() - lookback;
        let mut backoff = Duration::from_millis(200);
        while !shutdown.is_cancelled() {
            let consumed = async {
                let stream = egide_kit::nats::ensure_stream(&js, &stream).await?;
                let consumer = stream
                    .create_consumer(OrderedConfig {
                        filter_subject: subject.to_owned(),
                        deliver_policy: DeliverPolicy::ByStartTime { start_time: since },
                        ..Default::default()
                    })
                    .await?;
                // Live once caught up with what the stream held at creation.
                let mut caught_up = consumer.cached_info().num_pending == 0;
                let mut messages = consumer.messages().await?;
                if caught_up {
                    self.live.fetch_add(1, Ordering::AcqRel);
                }
                let mut connected = tokio::time::interval(Duration::from_millis(500));
                let result: anyhow::Result<()> = loop {
                    tokio::select! {
                        () = shutdown.cancelled() => break Ok(()),
                        next = messages.next() => match next {
                            Some(Ok(m)) => {
                                self.apply(&m.payload);
                                if !caught_up && m.info().is_ok_and(|i| i.pending == 0) {
                                    caught_up = true;
                                    self.live.fetch_add(1, Ordering::AcqRel);
                                }
                            }
                            Some(Err(error)) => break Err(error.into()),
                            None => break Err(anyhow::anyhow!("message stream ended")),
                        },
                        _ = connected.tick() => {
                            if nats.connection_state() != State::Connected {
                                break Err(anyhow::anyhow!("NATS disconnected"));
                            }
                        }
                    }
                };
                if caught_up {
                    self.live.fetch_sub(1, Ordering::AcqRel);
                }
                result
            }
            .await;
            if let Err(error) = consumed {
                tracing::warn!(%error, subject, retry_in = ?backoff, "session events: follower stopped; tokens refused until it resumes");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            } else {
                return;
            }
        }
    }
}
