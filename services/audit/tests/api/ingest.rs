use egide_proto::audit::v1::GetEventRequest;
use tonic::Code;

use crate::helpers::{REGISTERED, event, ids, simple, spawn_app};

#[tokio::test]
async fn a_published_event_is_logged_and_found_by_id() {
    let app = spawn_app().await;
    let published = simple("test", 1);
    app.publish(&published).await;

    let logged = app.wait_for_events(1).await;
    assert_eq!(logged[0].log_index, 1);

    let found = app
        .client
        .clone()
        .get_event(GetEventRequest {
            event_id: published.event_id.clone(),
        })
        .await
        .expect("found")
        .into_inner()
        .event
        .expect("an event");
    assert_eq!(found.log_index, 1);
    assert_eq!(
        found.envelope.as_ref(),
        Some(&published),
        "stored as produced"
    );
    assert!(found.received_at.is_some());
}

#[tokio::test]
async fn get_event_refuses_a_malformed_id_and_reports_an_unknown_one() {
    let app = spawn_app().await;

    let status = app
        .client
        .clone()
        .get_event(GetEventRequest {
            event_id: "not-a-uuid".into(),
        })
        .await
        .expect_err("malformed");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let (reason, violations) = egide_kit::error::decode(&status);
    assert_eq!(reason.as_deref(), Some("invalid_argument"));
    assert_eq!(violations[0].field, "event_id");

    let status = app
        .client
        .clone()
        .get_event(GetEventRequest {
            event_id: uuid::Uuid::now_v7().to_string(),
        })
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert_eq!(
        egide_kit::error::decode(&status).0.as_deref(),
        Some("event_not_found")
    );
}

#[tokio::test]
async fn an_event_delivered_twice_is_logged_once() {
    let app = spawn_app().await;
    let first = simple("test", 1);
    // Different message ids get past JetStream's duplicate window: the log must dedupe.
    app.publish_with_msg_id(&first, "copy-1").await;
    app.publish_with_msg_id(&first, "copy-2").await;
    let second = simple("test", 2);
    app.publish(&second).await;

    // The second event is logged after both copies were handled.
    let logged = app.wait_for_events(2).await;
    assert_eq!(ids(&logged), [first.event_id, second.event_id]);
    assert_eq!(
        logged.iter().map(|e| e.log_index).collect::<Vec<_>>(),
        [1, 2]
    );
    let state = app.wait_for_producer("test", 2).await;
    assert_eq!(
        (state.contiguous_seq, state.highest_seq, state.missing),
        (2, 2, 0)
    );
}

#[tokio::test]
async fn a_malformed_message_does_not_stop_ingestion() {
    let app = spawn_app().await;
    app.publish_raw(REGISTERED, "garbage-1", b"not a protobuf envelope".to_vec())
        .await;
    // Decodes, but cannot be placed in any producer's sequence.
    let mut anonymous = simple("test", 1);
    anonymous.producer = String::new();
    app.publish(&anonymous).await;
    let mut unsequenced = simple("test", 1);
    unsequenced.producer_seq = 0;
    app.publish(&unsequenced).await;

    let valid = simple("test", 1);
    app.publish(&valid).await;
    let logged = app.wait_for_events(1).await;
    assert_eq!(ids(&logged), [valid.event_id.as_str()]);

    let later = event("test", 2, REGISTERED, chrono::Utc::now());
    app.publish(&later).await;
    let logged = app.wait_for_events(2).await;
    assert_eq!(ids(&logged), [valid.event_id, later.event_id]);
    assert_eq!(logged[1].log_index, 2, "refused messages take no log index");
}
