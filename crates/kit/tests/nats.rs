//! The event stream against a real nats-server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_nats::jetstream;
use futures::TryStreamExt as _;

/// Services (and test binaries) start together and all ensure the stream: every one of
/// them gets it, however the server orders the creations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creators_all_get_the_one_stream() {
    for round in 0..10 {
        // A fresh server each round: the race is on the first creation.
        let nats = egide_testkit::Nats::spawn().unwrap();
        let client = async_nats::connect(nats.url()).await.unwrap();
        // One connection each, as separate services have (the server serves a single
        // connection's requests in order), all let go at once.
        let mut contexts = Vec::new();
        for _ in 0..32 {
            contexts.push(jetstream::new(
                async_nats::connect(nats.url()).await.unwrap(),
            ));
        }
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(contexts.len()));
        let creators: Vec<_> = contexts
            .into_iter()
            .map(|js| {
                let start = start.clone();
                tokio::spawn(async move {
                    start.wait().await;
                    egide_kit::nats::ensure_stream(&js, "EGIDE").await
                })
            })
            .collect();
        for creator in creators {
            let stream = creator
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("round {round}: {e:#}"));
            assert_eq!(stream.cached_info().config.name, "EGIDE");
        }
        let js = jetstream::new(client);
        assert_eq!(
            js.stream_names()
                .try_collect::<Vec<_>>()
                .await
                .unwrap()
                .len(),
            1,
            "one stream, not one per creator"
        );
    }
}
