use std::time::Duration;

use egide_proto::enrolment::v1::GetStructureRequest;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::helpers::{eventually, spawn_app};

#[tokio::test]
async fn grpc_health_through_the_gateway_follows_the_backends() {
    let mut app = spawn_app().await;
    assert_eq!(app.health("liveness").await, ServingStatus::Serving);
    eventually(Duration::from_secs(15), "gateway SERVING", || async {
        (app.health("").await == ServingStatus::Serving).then_some(())
    })
    .await;

    app.stop_backend("audit").await;
    eventually(Duration::from_secs(10), "gateway NOT_SERVING", || async {
        (app.health("").await == ServingStatus::NotServing).then_some(())
    })
    .await;
    assert_eq!(
        app.health("liveness").await,
        ServingStatus::Serving,
        "the gateway itself still lives"
    );
    let (code, body) = app.http_get("/readyz").await;
    assert_eq!(code, 503, "{body}");
    let ready: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(ready["dependencies"]["audit"]["ok"], false, "{ready}");
    assert_eq!(ready["dependencies"]["enrolment"]["ok"], true, "{ready}");
}

#[tokio::test]
async fn http_health_readiness_and_metrics() {
    let app = spawn_app().await;

    let (code, body) = app.http_get("/healthz").await;
    assert_eq!((code, body.as_str()), (200, "ok\n"));

    let body = eventually(Duration::from_secs(15), "/readyz 200", || async {
        let (code, body) = app.http_get("/readyz").await;
        assert!(code == 200 || code == 503, "{code}: {body}");
        (code == 200).then_some(body)
    })
    .await;
    let ready: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(ready["ready"], true, "{ready}");
    for backend in ["enrolment", "audit"] {
        assert_eq!(ready["dependencies"][backend]["ok"], true, "{ready}");
    }

    let _ = app
        .enrolment
        .clone()
        .get_structure(GetStructureRequest {
            id_nat_struct: "1750000010".into(),
        })
        .await;
    let (code, metrics) = app.http_get("/metrics").await;
    assert_eq!(code, 200);
    assert!(
        metrics.contains("# TYPE egide_gateway_requests_total counter"),
        "{metrics}"
    );
    assert!(
        metrics.contains("egide_gateway_requests_total{route=\"enrolment\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("egide_gateway_ready 1"), "{metrics}");

    let (code, _) = app.http_get("/nope").await;
    assert_eq!(code, 404);
}
