use egide_ids::{Finess, Siret};
use egide_proto::enrolment::v1::{
    GetStructureRequest, register_structure_request::Identifier, structure,
};
use tonic::Code;

use crate::helpers::spawn_app;

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
async fn register_by_siret() {
    let app = spawn_app().await;
    let siret = Siret::parse("73282932000074").unwrap().to_string();

    let registered = app
        .register(Some(Identifier::Siret(siret.clone())), "Pharmacie du Port")
        .await
        .expect("registered")
        .structure
        .expect("a structure");

    assert_eq!(registered.id_nat_struct, format!("3{siret}"));
    assert_eq!(
        registered.identifier,
        Some(structure::Identifier::Siret(siret))
    );
    let fetched = app
        .client
        .clone()
        .get_structure(GetStructureRequest {
            id_nat_struct: registered.id_nat_struct.clone(),
        })
        .await
        .expect("found")
        .into_inner()
        .structure;
    assert_eq!(fetched, Some(registered));
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
            Some(Identifier::Finess(finess(75_000_001))),
            "   ".into(),
            vec!["name"],
            "an empty name",
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
