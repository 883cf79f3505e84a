use std::collections::HashSet;

use chrono::{DateTime, Duration, DurationRound as _, Utc};
use egide_kit::events::{EventEnvelope, timestamp};
use egide_proto::audit::v1::ListEventsRequest;
use tonic::Code;

use crate::helpers::{TestApp, event, ids, simple, spawn_app};

async fn publish_all(app: &TestApp, events: &[EventEnvelope]) {
    for e in events {
        app.publish(e).await;
    }
    app.wait_for_events(events.len()).await;
}

async fn listed(app: &TestApp, request: ListEventsRequest) -> Vec<String> {
    let (events, next) = app.list(request).await.expect("list events");
    assert!(next.is_empty(), "a single page was expected");
    ids(&events)
}

fn id_of(events: &[&EventEnvelope]) -> Vec<String> {
    events.iter().map(|e| e.event_id.clone()).collect()
}

#[tokio::test]
async fn list_events_filters_by_producer_type_and_time() {
    let app = spawn_app().await;
    let t0: DateTime<Utc> =
        Utc::now().duration_trunc(Duration::seconds(1)).unwrap() - Duration::hours(5);
    let at = |h: i64| t0 + Duration::hours(h);
    let a1 = event("alpha", 1, "egide.enrolment.structure.registered", at(0));
    let a2 = event("alpha", 2, "egide.enrolment.professional.registered", at(1));
    let b1 = event("beta", 1, "egide.auth.session.opened", at(2));
    let b2 = event("beta", 2, "egide.enrolment.structure.registered", at(3));
    // Shares the characters of the prefix but not its segment.
    let c1 = event("gamma", 1, "egide.enrolments.structure.registered", at(4));
    publish_all(
        &app,
        &[a1.clone(), a2.clone(), b1.clone(), b2.clone(), c1.clone()],
    )
    .await;

    let by_producer = listed(
        &app,
        ListEventsRequest {
            producer: "alpha".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(by_producer, id_of(&[&a1, &a2]));

    let exact = listed(
        &app,
        ListEventsRequest {
            event_type: "egide.enrolment.structure.registered".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(exact, id_of(&[&a1, &b2]));

    let prefix = listed(
        &app,
        ListEventsRequest {
            event_type: "egide.enrolment.>".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(prefix, id_of(&[&a1, &a2, &b2]));

    let after = listed(
        &app,
        ListEventsRequest {
            occurred_after: Some(timestamp(at(1))),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        after,
        id_of(&[&a2, &b1, &b2, &c1]),
        "occurred_after is inclusive"
    );

    let before = listed(
        &app,
        ListEventsRequest {
            occurred_before: Some(timestamp(at(2))),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(before, id_of(&[&a1, &a2]), "occurred_before is exclusive");

    let window = listed(
        &app,
        ListEventsRequest {
            occurred_after: Some(timestamp(at(1))),
            occurred_before: Some(timestamp(at(3))),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(window, id_of(&[&a2, &b1]));

    let combined = listed(
        &app,
        ListEventsRequest {
            producer: "beta".into(),
            event_type: "egide.enrolment.>".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(combined, id_of(&[&b2]));

    let none = listed(
        &app,
        ListEventsRequest {
            producer: "nobody".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(none.is_empty());
}

/// Follows `next_page_token` to the end; returns the ids and the page sizes.
async fn all_pages(app: &TestApp, mut request: ListEventsRequest) -> (Vec<String>, Vec<usize>) {
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let (events, next) = app.list(request.clone()).await.expect("a page");
        sizes.push(events.len());
        seen.extend(ids(&events));
        if next.is_empty() {
            return (seen, sizes);
        }
        assert!(sizes.len() < 20, "pagination does not end");
        request.page_token = next;
    }
}

#[tokio::test]
async fn pagination_covers_every_event_exactly_once() {
    let app = spawn_app().await;
    let events = vec![
        simple("test", 1),
        simple("other", 1),
        simple("test", 2),
        simple("test", 3),
        simple("other", 2),
        simple("test", 4),
    ];
    publish_all(&app, &events).await;

    let (seen, sizes) = all_pages(
        &app,
        ListEventsRequest {
            page_size: 2,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(sizes, [2, 2, 2], "no empty last page");
    assert_eq!(
        seen,
        events
            .iter()
            .map(|e| e.event_id.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        seen.iter().collect::<HashSet<_>>().len(),
        seen.len(),
        "no duplicates"
    );

    let (seen, sizes) = all_pages(
        &app,
        ListEventsRequest {
            producer: "test".into(),
            page_size: 3,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(sizes, [3, 1]);
    let test_events: Vec<String> = events
        .iter()
        .filter(|e| e.producer == "test")
        .map(|e| e.event_id.clone())
        .collect();
    assert_eq!(seen, test_events);
}

#[tokio::test]
async fn bad_list_requests_name_their_fields() {
    let app = spawn_app().await;
    let cases: Vec<(ListEventsRequest, Vec<&str>)> = vec![
        (
            ListEventsRequest {
                page_token: "nope".into(),
                ..Default::default()
            },
            vec!["page_token"],
        ),
        (
            ListEventsRequest {
                page_token: "li.-5".into(),
                ..Default::default()
            },
            vec!["page_token"],
        ),
        (
            ListEventsRequest {
                page_size: 5000,
                ..Default::default()
            },
            vec!["page_size"],
        ),
        (
            ListEventsRequest {
                event_type: "egide.*.structure.registered".into(),
                ..Default::default()
            },
            vec!["event_type"],
        ),
        (
            ListEventsRequest {
                occurred_after: Some(prost_types::Timestamp {
                    seconds: i64::MAX,
                    nanos: 0,
                }),
                ..Default::default()
            },
            vec!["occurred_after"],
        ),
        (
            ListEventsRequest {
                event_type: "egide.>.x".into(),
                page_size: 1001,
                page_token: "li.x".into(),
                ..Default::default()
            },
            vec!["event_type", "page_size", "page_token"],
        ),
    ];
    for (request, expected) in cases {
        let status = app
            .list(request.clone())
            .await
            .expect_err(&format!("{request:?} is refused"));
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "{request:?}: {status:?}"
        );
        let (reason, violations) = egide_kit::error::decode(&status);
        assert_eq!(reason.as_deref(), Some("invalid_argument"));
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, expected, "{request:?}");
    }
    // The largest page is accepted.
    assert!(
        app.list(ListEventsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .is_ok()
    );
}
