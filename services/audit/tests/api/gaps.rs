use std::time::{Duration, Instant};

use async_nats::Subscriber;
use futures::StreamExt as _;

use crate::helpers::{simple, spawn_app};

/// Reads watermarks until `want` arrives; returns every value seen, `want` last.
async fn watermarks_until(sub: &mut Subscriber, want: i64) -> Vec<i64> {
    let deadline = Instant::now() + Duration::from_secs(8);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = tokio::time::timeout(left, sub.next())
            .await
            .unwrap_or_else(|_| panic!("no watermark {want} within 8 s; saw {seen:?}"))
            .expect("subscription open");
        let mark: i64 = std::str::from_utf8(&msg.payload).unwrap().parse().unwrap();
        seen.push(mark);
        if mark == want {
            return seen;
        }
    }
}

#[tokio::test]
async fn sequence_gaps_are_tracked_until_filled() {
    let app = spawn_app().await;
    let mut watermarks = app
        .nats_client
        .subscribe(egide_kit::outbox::watermark_subject("test"))
        .await
        .unwrap();
    for seq in [1, 2, 4] {
        app.publish(&simple("test", seq)).await;
    }

    let state = app.wait_for_producer("test", 3).await;
    assert_eq!(
        (state.contiguous_seq, state.highest_seq, state.missing),
        (2, 4, 1),
        "{state:?}"
    );
    // The producer is told how far the log holds its events: never past the gap.
    let marks = watermarks_until(&mut watermarks, 2).await;
    assert!(marks.iter().all(|m| *m <= 2), "{marks:?}");

    app.publish(&simple("test", 3)).await;
    let state = app.wait_for_producer("test", 4).await;
    assert_eq!(
        (state.contiguous_seq, state.highest_seq, state.missing),
        (4, 4, 0),
        "{state:?}"
    );
    let marks = watermarks_until(&mut watermarks, 4).await;
    assert!(marks.iter().all(|m| [2, 4].contains(m)), "{marks:?}");

    let logged = app.all_events().await;
    assert_eq!(
        logged.iter().map(|e| e.log_index).collect::<Vec<_>>(),
        [1, 2, 3, 4],
        "log indexes are gap-free"
    );
    assert_eq!(
        logged
            .iter()
            .map(|e| e.envelope.as_ref().unwrap().producer_seq)
            .collect::<Vec<_>>(),
        [1, 2, 4, 3],
        "the log keeps arrival order"
    );
}

#[tokio::test]
async fn a_lasting_gap_makes_the_log_ask_its_producer_for_a_replay() {
    let app = spawn_app().await;
    let mut replays = app
        .nats_client
        .subscribe(egide_kit::outbox::replay_subject("test"))
        .await
        .unwrap();
    let missing = simple("test", 3);
    for seq in [1, 2, 4] {
        app.publish(&simple("test", seq)).await;
    }
    let gap_seen = Instant::now();
    app.wait_for_producer("test", 3).await;

    let request = tokio::time::timeout(Duration::from_secs(10), replays.next())
        .await
        .expect("a replay request within 10 s")
        .expect("subscription open");
    assert!(
        gap_seen.elapsed() >= egide_audit::gaps::GAP_GRACE,
        "asked after {:?}, before the gap lasted {:?}",
        gap_seen.elapsed(),
        egide_audit::gaps::GAP_GRACE
    );
    assert_eq!(
        std::str::from_utf8(&request.payload).unwrap(),
        "3 3",
        "only the missing range is asked for"
    );
    // Answer as a producer's relay does (rows found), then republish the missing event.
    let reply = request.reply.expect("a request expects an answer");
    app.nats_client.publish(reply, "1".into()).await.unwrap();
    app.publish(&missing).await;

    let state = app.wait_for_producer("test", 4).await;
    assert_eq!(
        (state.contiguous_seq, state.highest_seq, state.missing),
        (4, 4, 0),
        "{state:?}"
    );
}
