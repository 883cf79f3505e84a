//! NATS JetStream: the connection, the `EGIDE` stream every event lands in, and a readiness
//! check.

use std::time::Duration;

use async_nats::{
    Client, ConnectOptions,
    connection::State,
    jetstream::{
        self,
        stream::{self, DiscardPolicy, RetentionPolicy, StorageType},
    },
};

use crate::config::NatsConfig;

/// Subjects every Égide event is published under.
pub const EVENT_SUBJECTS: &str = "egide.>";

/// How long JetStream remembers a `Nats-Msg-Id` to drop a republished duplicate. Consumers
/// keep their own inbox, which outlives this window.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// Connects to NATS. The connection is made in the background and retried forever, so a
/// service starts (NOT_SERVING) even while NATS is down.
pub async fn connect(config: &NatsConfig, name: &str) -> Result<Client, async_nats::ConnectError> {
    ConnectOptions::new()
        .name(format!("egide-{name}"))
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(5))
        .request_timeout(Some(Duration::from_secs(10)))
        .event_callback(|event| async move {
            match event {
                async_nats::Event::Disconnected => tracing::warn!("NATS disconnected"),
                async_nats::Event::Connected => tracing::info!("NATS connected"),
                other => tracing::debug!(event = %other, "NATS event"),
            }
        })
        .connect(&config.url)
        .await
}

/// Creates the event stream if it does not exist yet; an existing stream is left as it is.
pub async fn ensure_stream(
    js: &jetstream::Context,
    name: &str,
) -> Result<stream::Stream, anyhow::Error> {
    let config = stream::Config {
        name: name.to_owned(),
        subjects: vec![EVENT_SUBJECTS.to_owned()],
        storage: StorageType::File,
        retention: RetentionPolicy::Limits,
        discard: DiscardPolicy::Old,
        max_age: Duration::from_secs(7 * 24 * 3600),
        duplicate_window: DUPLICATE_WINDOW,
        ..Default::default()
    };
    match js.get_or_create_stream(config).await {
        Ok(stream) => Ok(stream),
        // Services (and test binaries) starting together race to create the stream, and a
        // standalone server can answer the loser "subjects overlap" rather than handing it
        // the stream just made. The stream is then there: take it. Any other cause of the
        // error (a foreign stream on our subjects) still fails, with the server's words.
        Err(error) => js.get_stream(name).await.map_err(|_| error.into()),
    }
}

/// A readiness check on the connection state.
pub fn readiness_check(client: Client) -> crate::health::Check {
    crate::health::check(move || {
        let state = client.connection_state();
        async move {
            match state {
                State::Connected => Ok(()),
                other => Err(format!("nats: {other:?}").to_lowercase()),
            }
        }
    })
}
