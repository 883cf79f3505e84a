use std::{collections::BTreeMap, time::Duration};

use egide_ids::{Siren, Siret};
use egide_kit::events::Payload;
use egide_proto::{
    audit::v1::{GetEventRequest, ListEventsRequest},
    common::v1::{GetStatusRequest, status_service_client::StatusServiceClient},
    enrolment::v1::{
        GetStructureRequest, RegisterStructureRequest, register_structure_request::Identifier,
    },
};
use tokio_util::sync::CancellationToken;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::helpers::{eventually, spawn_app, spawn_gateway};

/// A registration by SIRET that only an operator may make without a directory entry (the
/// gateway tests route; directory checks are enrolment's tests).
fn registration(siret: &Siret, name: String) -> RegisterStructureRequest {
    RegisterStructureRequest {
        identifier: Some(Identifier::Siret(siret.to_string())),
        name,
        allow_without_directory: true,
    }
}

#[tokio::test]
async fn a_structure_is_registered_read_and_audited_through_the_gateway() {
    let app = spawn_app().await;
    let siret = Siret::from_parts(Siren::from_body(40_007_500), 1);

    // Through the gateway without an operator session: enrolment itself answers.
    let refused = app
        .enrolment
        .clone()
        .register_structure(registration(&siret, "CHU de Rennes".into()))
        .await
        .expect_err("an operator's act");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert_eq!(
        egide_kit::error::decode(&refused).0.as_deref(),
        Some("operator_required")
    );
    // An operator registers it (this test has no auth to log one in: it plays the
    // gateway's hop for them).
    let registered = app
        .enrolment_as_operator()
        .await
        .register_structure(
            egide_kit::caller::PersonCaller::test_operator("gateway-tests")
                .request(registration(&siret, "CHU de Rennes".into())),
        )
        .await
        .expect("registered by an operator")
        .into_inner()
        .structure
        .expect("a structure");
    let fetched = app
        .enrolment
        .clone()
        .get_structure(GetStructureRequest {
            id_nat_struct: registered.id_nat_struct.clone(),
        })
        .await
        .expect("read through the gateway")
        .into_inner()
        .structure;
    assert_eq!(fetched.as_ref(), Some(&registered));

    // enrolment → outbox → JetStream → audit, read back through the gateway.
    let listed = eventually(
        Duration::from_secs(15),
        "the event in the audit log",
        || async {
            let events = app
                .audit
                .clone()
                .list_events(ListEventsRequest {
                    producer: "enrolment".into(),
                    ..Default::default()
                })
                .await
                .expect("list through the gateway")
                .into_inner()
                .events;
            events.into_iter().next()
        },
    )
    .await;
    let event_id = listed.envelope.expect("envelope").event_id;
    let audited = app
        .audit
        .clone()
        .get_event(GetEventRequest {
            event_id: event_id.clone(),
        })
        .await
        .expect("GetEvent through the gateway")
        .into_inner()
        .event
        .expect("an event");
    let envelope = audited.envelope.expect("envelope");
    assert_eq!(envelope.event_id, event_id);
    assert_eq!(envelope.producer, "enrolment");
    assert_eq!(envelope.producer_seq, 1);
    assert_eq!(envelope.event_type, "egide.enrolment.structure.registered");
    match envelope.payload {
        Some(Payload::StructureRegistered(p)) => assert_eq!(p.structure, Some(registered)),
        other => panic!("unexpected payload {other:?}"),
    }
}

#[tokio::test]
async fn an_unrouted_service_is_unimplemented() {
    let app = spawn_gateway(BTreeMap::new(), CancellationToken::new()).await;
    // StatusService is served by each process, never routed by the gateway.
    let status = StatusServiceClient::new(app.channel.clone())
        .get_status(GetStatusRequest {})
        .await
        .expect_err("no route");
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    assert!(
        status.message().contains("egide.common.v1.StatusService"),
        "{status:?}"
    );

    // A known domain without a configured route is unimplemented too.
    let status = app
        .enrolment
        .clone()
        .get_structure(GetStructureRequest {
            id_nat_struct: "1750000010".into(),
        })
        .await
        .expect_err("no enrolment route");
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
}

#[tokio::test]
async fn an_unreachable_backend_is_unavailable() {
    // A port nothing listens on, for as long as the lease lives.
    let dead_port = egide_testkit::PortLease::one().unwrap();
    let dead = dead_port.addr();
    let routes = BTreeMap::from([("enrolment".to_owned(), format!("http://{dead}"))]);
    let app = spawn_gateway(routes, CancellationToken::new()).await;
    let status = app
        .enrolment
        .clone()
        .get_structure(GetStructureRequest {
            id_nat_struct: "1750000010".into(),
        })
        .await
        .expect_err("nothing behind the route");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");

    // …and the gateway is not ready, saying which backend and why.
    let readyz = eventually(Duration::from_secs(10), "enrolment checked", || async {
        let (code, body) = app.http_get("/readyz").await;
        let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        json["dependencies"]
            .get("enrolment")
            .is_some()
            .then_some((code, json))
    })
    .await;
    assert_eq!(readyz.0, 503, "{readyz:?}");
    assert_eq!(readyz.1["ready"], false);
    assert_eq!(readyz.1["dependencies"]["enrolment"]["ok"], false);
    let reason = readyz.1["dependencies"]["enrolment"]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.starts_with("unreachable"), "{reason}");
    assert_eq!(app.health("").await, ServingStatus::NotServing);
}

#[tokio::test]
async fn an_oversized_request_is_refused_before_reaching_a_backend() {
    let app = spawn_app().await;
    let siret = Siret::from_parts(Siren::from_body(40_007_500), 1);

    let status = app
        .enrolment
        .clone()
        .register_structure(registration(&siret, "x".repeat(300 * 1024)))
        .await
        .expect_err("over the 256 KiB limit");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let (reason, violations) = egide_kit::error::decode(&status);
    assert_eq!(reason.as_deref(), Some("invalid_argument"));
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].field, "request");

    // Nothing reached enrolment, and the connection is still usable.
    let status = app
        .enrolment
        .clone()
        .get_structure(GetStructureRequest {
            id_nat_struct: format!("3{siret}"),
        })
        .await
        .expect_err("not registered");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let answered = app
        .enrolment
        .clone()
        .register_structure(registration(&siret, "CHU de Rennes".into()))
        .await
        .expect_err("an operator's act");
    // A normal request still goes through: enrolment answers it.
    assert_eq!(
        egide_kit::error::decode(&answered).0.as_deref(),
        Some("operator_required"),
        "{answered:?}"
    );
}
