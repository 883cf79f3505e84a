use std::{sync::Arc, time::Duration};

use egide_testkit::Vault;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::helpers::{Deps, TestApp, eventually, spawn_app, spawn_app_with};

async fn wait_health(app: &TestApp, want: ServingStatus, within: Duration) {
    eventually(within, &format!("health {want:?}"), || async {
        (app.health().await == want).then_some(())
    })
    .await;
}

#[tokio::test]
async fn health_becomes_serving_and_status_lists_every_dependency() {
    let app = spawn_app().await;

    wait_health(&app, ServingStatus::Serving, Duration::from_secs(10)).await;

    let liveness = HealthClient::new(app.channel.clone())
        .check(HealthCheckRequest {
            service: "liveness".into(),
        })
        .await
        .expect("liveness")
        .into_inner()
        .status();
    assert_eq!(liveness, ServingStatus::Serving);
    let status = app.status().await;
    assert_eq!(status.service, "enrolment");
    assert!(status.ready);
    let names: Vec<_> = status
        .dependencies
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(names, ["nats", "postgres", "vault"]);
    for d in &status.dependencies {
        assert!(d.ok, "{d:?}");
        assert!(d.reason.is_empty(), "{d:?}");
        assert!(d.checked_at.is_some(), "{d:?}");
    }
}

#[tokio::test]
async fn a_sealed_vault_makes_the_service_not_serving_until_it_is_unsealed() {
    let vault = Arc::new(
        tokio::task::spawn_blocking(Vault::spawn)
            .await
            .unwrap()
            .expect("a dedicated OpenBao"),
    );
    let app = spawn_app_with(Deps {
        vault_addr: vault.addr(),
        vault_token: vault.root_token().to_owned(),
        ..Deps::shared()
    })
    .await;
    wait_health(&app, ServingStatus::Serving, Duration::from_secs(10)).await;

    let v = vault.clone();
    tokio::task::spawn_blocking(move || v.seal())
        .await
        .unwrap()
        .expect("seal");
    wait_health(&app, ServingStatus::NotServing, Duration::from_secs(10)).await;
    let status = app.status().await;
    assert!(!status.ready);
    let vault_state = status
        .dependencies
        .iter()
        .find(|d| d.name == "vault")
        .expect("vault listed");
    assert!(!vault_state.ok);
    assert!(vault_state.reason.contains("sealed"), "{vault_state:?}");
    assert!(
        status
            .dependencies
            .iter()
            .filter(|d| d.name != "vault")
            .all(|d| d.ok),
        "only Vault is down: {status:?}"
    );

    let v = vault.clone();
    tokio::task::spawn_blocking(move || v.unseal())
        .await
        .unwrap()
        .expect("unseal");
    wait_health(&app, ServingStatus::Serving, Duration::from_secs(20)).await;
    assert!(app.status().await.ready);
    drop(app);
    tokio::task::spawn_blocking(move || drop(vault))
        .await
        .unwrap();
}
