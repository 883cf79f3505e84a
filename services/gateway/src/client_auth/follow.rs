//! Follows certval's revocation events (core NATS: every gateway replica gets each one,
//! milliseconds after certval's outbox relay publishes it).

use std::{sync::Arc, time::Duration};

use async_nats::connection::State;
use egide_kit::events::{EventEnvelope, Payload};
use futures::StreamExt as _;
use prost::Message as _;
use tokio_util::sync::CancellationToken;

use super::ClientAuth;

/// The revocation event's subject.
pub const SUBJECT: &str = "egide.certval.certificate.revoked";

/// Applies revocation events to `auth` until `shutdown`. While NATS is not connected,
/// events may be missed: cached answers are then not used (every call asks certval),
/// and the cache is emptied when the connection comes back.
pub async fn follow(
    nats: async_nats::Client,
    auth: Arc<ClientAuth>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut state = tokio::time::interval(Duration::from_millis(500));
    let mut events = None;
    loop {
        if events.is_none() {
            // Bounded: while NATS is away these may wait for the connection, and the
            // loop must keep honouring shutdown and the state ticks.
            let subscribed = tokio::time::timeout(Duration::from_secs(2), async {
                let subscriber = nats.subscribe(SUBJECT).await?;
                // The SUB reaches the server now rather than with the next write.
                let _ = nats.flush().await;
                Ok::<_, async_nats::SubscribeError>(subscriber)
            })
            .await;
            match subscribed {
                Ok(Ok(s)) => events = Some(s),
                Ok(Err(error)) => {
                    tracing::warn!(%error, "cannot subscribe to revocation events; retrying");
                }
                Err(_) => tracing::warn!("revocation events: subscription pending; retrying"),
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            message = async {
                match events.as_mut() {
                    Some(s) => s.next().await,
                    None => std::future::pending().await,
                }
            } => {
                let Some(message) = message else {
                    auth.set_events_live(false);
                    events = None;
                    continue;
                };
                match EventEnvelope::decode(message.payload.as_ref()) {
                    Ok(EventEnvelope { payload: Some(Payload::CertificateRevoked(event)), .. }) => {
                        auth.on_revoked(&event);
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "undecodable revocation event"),
                }
            }
            _ = state.tick() => {
                let live = events.is_some() && nats.connection_state() == State::Connected;
                auth.set_events_live(live);
            }
        }
    }
}
