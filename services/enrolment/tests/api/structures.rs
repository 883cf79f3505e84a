//! Structures: registration by FINESS or SIRET, checked against the FINESS directory.

use egide_directory::finess::Encoding;
use egide_ids::{Finess, Siret};
use egide_kit::events::{ActorKind, Payload};
use egide_proto::enrolment::v1::{
    DirectorySource, GetStructureRequest, ImportHeader, RegisterStructureRequest,
    RegisterStructureResponse, Structure, register_structure_request::Identifier, structure,
};
use tonic::Code;

use crate::{
    files::{Etab, day, finess_file, finess_name, import_bytes, import_finess},
    helpers::{TestApp, expect_error, spawn_app, spawn_app_with_config},
};

fn finess(body: u32) -> String {
    Finess::from_body(body).as_str().to_owned()
}

/// The same FINESS with a wrong check key.
fn finess_with_bad_key(body: u32) -> String {
    let good = finess(body);
    let (head, key) = good.split_at(8);
    let key = key.parse::<u8>().unwrap();
    format!("{head}{}", (key + 1) % 10)
}

fn fields(status: &tonic::Status) -> Vec<String> {
    let (reason, violations) = egide_kit::error::decode(status);
    assert_eq!(reason.as_deref(), Some("invalid_argument"), "{status:?}");
    violations.into_iter().map(|v| v.field).collect()
}

#[tokio::test]
async fn register_by_finess_then_get_returns_the_structure() {
    let app = spawn_app().await;
    let finess = finess(75_000_001);

    let registered = app
        .register_finess(&finess, "  CHU de Rennes  ")
        .await
        .expect("registered")
        .structure
        .expect("a structure");

    assert_eq!(registered.id_nat_struct, format!("1{finess}"));
    assert_eq!(
        registered.identifier,
        Some(structure::Identifier::Finess(finess.clone()))
    );
    assert_eq!(registered.name, "CHU de Rennes", "the name is trimmed");
    assert!(uuid::Uuid::parse_str(&registered.id).is_ok());
    assert!(registered.registered_at.is_some());

    let fetched = app
        .client
        .clone()
        .get_structure(GetStructureRequest {
            id_nat_struct: registered.id_nat_struct.clone(),
        })
        .await
        .expect("found")
        .into_inner()
        .structure
        .expect("a structure");
    assert_eq!(fetched, registered);
}

#[tokio::test]
async fn registering_the_same_structure_twice_is_already_exists() {
    let app = spawn_app().await;
    let finess = finess(35_000_002);
    let first = app
        .register_finess(&finess, "CH Saint-Malo")
        .await
        .expect("first");

    let status = app
        .register_finess(&finess, "Another name")
        .await
        .expect_err("a duplicate is refused");

    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    let (reason, violations) = egide_kit::error::decode(&status);
    assert_eq!(reason.as_deref(), Some("structure_exists"));
    assert!(violations.is_empty());
    // The first registration is untouched, and only one event was recorded.
    let stored = app
        .client
        .clone()
        .get_structure(GetStructureRequest {
            id_nat_struct: format!("1{finess}"),
        })
        .await
        .expect("found")
        .into_inner()
        .structure;
    assert_eq!(stored, first.structure);
    assert_eq!(
        app.outbox().await.len(),
        1,
        "the refused registration left no event"
    );
}

#[tokio::test]
async fn invalid_registrations_are_invalid_argument_with_field_violations() {
    let app = spawn_app().await;
    let cases: Vec<(Option<Identifier>, String, Vec<&str>, &str)> = vec![
        (
            Some(Identifier::Finess(finess_with_bad_key(75_000_001))),
            "CHU".into(),
            vec!["finess"],
            "a FINESS with a wrong check key",
        ),
        (
            Some(Identifier::Finess("12345".into())),
            "CHU".into(),
            vec!["finess"],
            "a FINESS of the wrong length",
        ),
        (
            Some(Identifier::Siret("73282932000075".into())),
            "CHU".into(),
            vec!["siret"],
            "a SIRET with a wrong check key",
        ),
        (
            Some(Identifier::Siret("73282932000074".into())),
            "   ".into(),
            vec!["name"],
            "an empty name for a SIRET (only a FINESS takes the directory's)",
        ),
        (None, "CHU".into(), vec!["identifier"], "no identifier"),
        (
            Some(Identifier::Finess(finess(75_000_001))),
            "x".repeat(300),
            vec!["name"],
            "a 300-character name",
        ),
        (
            None,
            String::new(),
            vec!["identifier", "name"],
            "no identifier and no name",
        ),
    ];
    for (identifier, name, expected_fields, case) in cases {
        let status = app
            .register(identifier, &name)
            .await
            .expect_err(&format!("{case} is refused"));
        assert_eq!(status.code(), Code::InvalidArgument, "{case}: {status:?}");
        assert_eq!(fields(&status), expected_fields, "{case}");
    }
    let (_, violations) = egide_kit::error::decode(
        &app.register(Some(Identifier::Finess(finess(1))), &"x".repeat(300))
            .await
            .unwrap_err(),
    );
    assert!(
        violations[0].description.contains("300"),
        "the description says what is wrong: {violations:?}"
    );
    assert!(
        app.outbox().await.is_empty(),
        "no refused request recorded an event"
    );
}

#[tokio::test]
async fn get_structure_with_a_malformed_id_is_invalid_argument() {
    let app = spawn_app().await;
    for id in ["", "not-an-id", "9750000011", "1750000012x"] {
        let status = app
            .client
            .clone()
            .get_structure(GetStructureRequest {
                id_nat_struct: id.into(),
            })
            .await
            .expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{id:?}: {status:?}");
        assert_eq!(fields(&status), ["id_nat_struct"], "{id:?}");
    }
}

#[tokio::test]
async fn get_unknown_structure_is_not_found() {
    let app = spawn_app().await;
    let status = app
        .client
        .clone()
        .get_structure(GetStructureRequest {
            id_nat_struct: format!("1{}", finess(13_000_003)),
        })
        .await
        .expect_err("nothing registered");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let (reason, _) = egide_kit::error::decode(&status);
    assert_eq!(reason.as_deref(), Some("structure_not_found"));
}

// ---- Against the FINESS directory ---------------------------------------------------------

async fn register_with(
    app: &TestApp,
    request: RegisterStructureRequest,
) -> Result<RegisterStructureResponse, tonic::Status> {
    app.client
        .clone()
        .register_structure(request)
        .await
        .map(tonic::Response::into_inner)
}

async fn get(app: &TestApp, id_nat_struct: &str) -> Structure {
    app.client
        .clone()
        .get_structure(GetStructureRequest {
            id_nat_struct: id_nat_struct.into(),
        })
        .await
        .expect("found")
        .into_inner()
        .structure
        .expect("structure")
}

/// Rennes (geolocated, with a SIRET) and Saint-Malo.
fn rennes() -> Etab {
    Etab {
        siret: "73282932000074".into(),
        ..Etab::new(35_000_010, "CHU DE RENNES")
    }
}

fn saint_malo() -> Etab {
    Etab::new(35_000_028, "CH DE SAINT-MALO")
}

async fn import_directory(app: &TestApp) {
    let r = rennes();
    import_finess(
        app,
        finess_file(
            day(13),
            &[
                r.line(Encoding::Latin1),
                saint_malo().line(Encoding::Latin1),
                r.geo_line(352_000.0, 6_789_000.5),
            ],
        ),
    )
    .await;
}

fn by_finess(etab: &Etab, name: &str) -> RegisterStructureRequest {
    RegisterStructureRequest {
        identifier: Some(Identifier::Finess(etab.finess.clone())),
        name: name.into(),
        ..Default::default()
    }
}

fn by_siret(siret: &str, allow: bool) -> RegisterStructureRequest {
    RegisterStructureRequest {
        identifier: Some(Identifier::Siret(siret.into())),
        name: "Pharmacie du Port".into(),
        allow_without_directory: allow,
    }
}

#[tokio::test]
async fn a_finess_registration_carries_the_directory_establishment() {
    let app = spawn_app().await;
    import_directory(&app).await;

    // No name given: the directory's.
    let s = register_with(&app, by_finess(&rennes(), ""))
        .await
        .expect("registered")
        .structure
        .unwrap();
    assert_eq!(s.name, "CHU DE RENNES");
    assert_eq!(s.registered_without_directory_by, "");
    let e = s.establishment.clone().expect("establishment");
    assert_eq!(
        (
            e.finess.as_str(),
            e.long_name.as_str(),
            e.siret.as_str(),
            e.active
        ),
        (
            rennes().finess.as_str(),
            "CHU DE RENNES (long)",
            "73282932000074",
            true
        )
    );
    let geo = e.geolocation.clone().expect("geolocation");
    assert_eq!((geo.x, geo.y), (352_000.0, 6_789_000.5));
    assert_eq!(get(&app, &s.id_nat_struct).await, s);
    let event = app
        .events_of(egide_enrolment::api::STRUCTURE_REGISTERED)
        .await
        .pop()
        .expect("event");
    match event.envelope.payload {
        Some(Payload::StructureRegistered(p)) => assert_eq!(p.structure.as_ref(), Some(&s)),
        other => panic!("{other:?}"),
    }

    // A name given wins; the directory data come along all the same.
    let s = register_with(&app, by_finess(&saint_malo(), "  Hôpital de Saint-Malo "))
        .await
        .expect("registered")
        .structure
        .unwrap();
    assert_eq!(s.name, "Hôpital de Saint-Malo");
    assert_eq!(
        s.establishment.map(|e| e.name),
        Some("CH DE SAINT-MALO".into())
    );
}

#[tokio::test]
async fn a_finess_unknown_or_closed_in_the_directory_is_refused() {
    let app = spawn_app_with_config(|c| c.directory.max_deactivation_ratio = 0.5).await;
    import_directory(&app).await;
    expect_error(
        register_with(&app, by_finess(&Etab::new(35_000_036, "X"), "Clinique")).await,
        Code::FailedPrecondition,
        "not_in_directory",
    );

    // Saint-Malo leaves the directory.
    import_bytes(
        &app,
        DirectorySource::Finess,
        &finess_name(),
        finess_file(day(14), &[rennes().line(Encoding::Utf8)]),
        ImportHeader::default(),
    )
    .await
    .expect("newer extract");
    expect_error(
        register_with(&app, by_finess(&saint_malo(), "")).await,
        Code::FailedPrecondition,
        "not_in_directory",
    );
    // Even an operator cannot register a closed establishment by FINESS.
    let forced = RegisterStructureRequest {
        allow_without_directory: true,
        ..by_finess(&saint_malo(), "CH")
    };
    expect_error(
        app.client
            .clone()
            .register_structure(crate::patient::as_operator("op-1", forced))
            .await,
        Code::FailedPrecondition,
        "not_in_directory",
    );
    assert!(
        app.events_of(egide_enrolment::api::STRUCTURE_REGISTERED)
            .await
            .is_empty()
    );
    assert_eq!(app.sql_i64("SELECT count(*) FROM structures").await, 0);
}

#[tokio::test]
async fn a_siret_outside_the_directory_needs_an_operator_who_says_so() {
    let app = spawn_app().await;
    import_directory(&app).await;
    let siret = Siret::from_body(7_328_293_200_008).unwrap().to_string();
    let as_operator = |request| async {
        app.client
            .clone()
            .register_structure(crate::patient::as_operator("op-ars-35", request))
            .await
            .map(tonic::Response::into_inner)
    };

    expect_error(
        register_with(&app, by_siret(&siret, false)).await,
        Code::FailedPrecondition,
        "directory_required",
    );
    expect_error(
        as_operator(by_siret(&siret, false)).await,
        Code::FailedPrecondition,
        "directory_required",
    );
    // Saying so is not enough: the verified caller must be an operator (with two factors).
    expect_error(
        register_with(&app, by_siret(&siret, true)).await,
        Code::PermissionDenied,
        "operator_required",
    );
    let patient =
        crate::patient::as_patient(&uuid::Uuid::now_v7().to_string(), by_siret(&siret, true));
    expect_error(
        app.client.clone().register_structure(patient).await,
        Code::PermissionDenied,
        "operator_required",
    );
    assert_eq!(app.sql_i64("SELECT count(*) FROM structures").await, 0);

    let s = as_operator(by_siret(&siret, true))
        .await
        .expect("registered")
        .structure
        .unwrap();
    assert_eq!(s.id_nat_struct, format!("3{siret}"));
    assert_eq!(
        s.identifier,
        Some(structure::Identifier::Siret(siret.clone()))
    );
    assert_eq!(s.registered_without_directory_by, "op-ars-35");
    assert_eq!(s.establishment, None);
    assert_eq!(get(&app, &s.id_nat_struct).await, s);
    let event = app
        .events_of(egide_enrolment::api::STRUCTURE_REGISTERED)
        .await
        .pop()
        .expect("event");
    assert_eq!(
        event.envelope.actor.and_then(|a| a.kind),
        Some(ActorKind::Operator("op-ars-35".into()))
    );
}

#[tokio::test]
async fn a_siret_of_a_directory_establishment_needs_no_operator() {
    let app = spawn_app().await;
    import_directory(&app).await;
    let s = register_with(&app, by_siret("73282932000074", false))
        .await
        .expect("registered")
        .structure
        .unwrap();
    assert_eq!(s.registered_without_directory_by, "");
    assert_eq!(
        s.establishment.as_ref().map(|e| e.finess.as_str()),
        Some(rennes().finess.as_str())
    );
    assert_eq!(get(&app, &s.id_nat_struct).await, s);
    // An operator's go-ahead is not recorded when the directory vouches.
    app.sql("DELETE FROM structures").await;
    let s = app
        .client
        .clone()
        .register_structure(crate::patient::as_operator(
            "op-1",
            by_siret("73282932000074", true),
        ))
        .await
        .map(tonic::Response::into_inner)
        .expect("registered")
        .structure
        .unwrap();
    assert_eq!(s.registered_without_directory_by, "");
}

#[tokio::test]
async fn errors_name_the_egide_domain() {
    use tonic_types::StatusExt as _;
    let app = spawn_app().await;
    let status = app
        .client
        .clone()
        .get_structure(GetStructureRequest {
            id_nat_struct: format!("1{}", finess(13_000_003)),
        })
        .await
        .expect_err("nothing registered");
    let info = status
        .get_error_details()
        .error_info()
        .cloned()
        .expect("ErrorInfo");
    assert_eq!(
        (info.reason.as_str(), info.domain.as_str()),
        ("structure_not_found", "egide")
    );
}
