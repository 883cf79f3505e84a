use std::time::Duration;

use egide_enrolment::api::STRUCTURE_REGISTERED;
use egide_ids::Finess;
use egide_kit::events::{ActorKind, Payload};
use egide_testkit::Nats;

use crate::helpers::{Deps, eventually, spawn_app, spawn_app_with, wait_for_event};

fn finess(body: u32) -> String {
    Finess::from_body(body).as_str().to_owned()
}

#[tokio::test]
async fn a_registration_publishes_its_event_with_a_gap_free_sequence() {
    let app = spawn_app().await;
    let first = app
        .register_finess(&finess(75_000_001), "CHU de Rennes")
        .await
        .expect("registered")
        .structure;

    let rows = app.wait_outbox_published(1, Duration::from_secs(10)).await;
    assert_eq!(rows[0].event_type, STRUCTURE_REGISTERED);
    assert_eq!(rows[0].producer_seq, Some(1));
    let seen = wait_for_event(
        &app.nats_url,
        STRUCTURE_REGISTERED,
        &rows[0].event_id.to_string(),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(seen.subject, STRUCTURE_REGISTERED);
    let envelope = &seen.envelope;
    assert_eq!(
        seen.msg_id, envelope.event_id,
        "Nats-Msg-Id is the event id"
    );
    assert_eq!(envelope.producer, "enrolment");
    assert_eq!(envelope.producer_seq, 1);
    assert_eq!(envelope.event_type, STRUCTURE_REGISTERED);
    assert!(envelope.occurred_at.is_some());
    assert_eq!(
        envelope.actor.as_ref().and_then(|a| a.kind.clone()),
        Some(ActorKind::Service("enrolment".into()))
    );
    let id_nat = first.as_ref().map(|s| s.id_nat_struct.clone()).unwrap();
    assert!(
        envelope
            .subjects
            .iter()
            .any(|s| s.kind == "structure" && s.id == id_nat),
        "{:?}",
        envelope.subjects
    );
    match &envelope.payload {
        Some(Payload::StructureRegistered(p)) => assert_eq!(p.structure, first),
        other => panic!("unexpected payload {other:?}"),
    }

    // A second registration gets the next sequence number.
    app.register_finess(&finess(35_000_002), "CH Saint-Malo")
        .await
        .expect("registered");
    let rows = app.wait_outbox_published(2, Duration::from_secs(10)).await;
    assert_eq!(
        rows.iter().map(|r| r.producer_seq).collect::<Vec<_>>(),
        [Some(1), Some(2)]
    );
    let second = wait_for_event(
        &app.nats_url,
        STRUCTURE_REGISTERED,
        &rows[1].event_id.to_string(),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(second.envelope.producer_seq, 2);
    assert_ne!(second.envelope.event_id, envelope.event_id);
}

#[tokio::test]
async fn a_registration_succeeds_while_nats_is_down_and_its_event_follows() {
    let nats = tokio::task::spawn_blocking(Nats::spawn)
        .await
        .unwrap()
        .expect("a dedicated NATS");
    let app = spawn_app_with(Deps {
        nats_url: nats.url(),
        ..Deps::shared()
    })
    .await;
    eventually(Duration::from_secs(10), "NATS connected", || async {
        let status = app.status().await;
        status
            .dependencies
            .iter()
            .any(|d| d.name == "nats" && d.ok)
            .then_some(())
    })
    .await;

    let nats = tokio::task::spawn_blocking(move || {
        nats.kill().expect("kill NATS");
        nats
    })
    .await
    .unwrap();
    let reason = eventually(Duration::from_secs(10), "NATS reported down", || async {
        let status = app.status().await;
        status
            .dependencies
            .into_iter()
            .find(|d| d.name == "nats" && !d.ok)
            .map(|d| d.reason)
    })
    .await;
    assert!(reason.starts_with("nats:"), "{reason}");

    let registered = app
        .register_finess(&finess(75_000_001), "CHU de Rennes")
        .await
        .expect("the registration does not need NATS");
    assert!(registered.structure.is_some());
    let rows = app.outbox().await;
    assert_eq!(rows.len(), 1);
    assert!(
        !rows[0].published,
        "nothing can be published while NATS is down"
    );

    let nats = tokio::task::spawn_blocking(move || {
        nats.start().expect("restart NATS");
        nats
    })
    .await
    .unwrap();
    let rows = app.wait_outbox_published(1, Duration::from_secs(30)).await;
    let seen = wait_for_event(
        &nats.url(),
        STRUCTURE_REGISTERED,
        &rows[0].event_id.to_string(),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(seen.envelope.producer_seq, 1);
    drop(app);
    tokio::task::spawn_blocking(move || drop(nats))
        .await
        .unwrap();
}
