//! Directory contents through `ImportDirectory`: synthetic extracts, what a newer extract
//! changes (counts and events), the guards against older or partial files, professionals
//! scattered in a file, FINESS encodings, and the INS search.

use std::collections::HashSet;

use egide_directory::{finess::Encoding, synth::SynthSpec};
use egide_kit::events::Payload;
use egide_proto::enrolment::v1::{
    DirectoryImport, DirectorySource, GetProfessionalRequest, ImportHeader, ImportState,
    ListDirectoryImportsRequest, ListImportRejectsRequest, ListImportRejectsResponse, Professional,
};
use tonic::Code;

use crate::{
    files::{
        Act, Etab, Ps, day, finess_file, finess_name, import_bytes, import_file, import_finess,
        import_rpps, rpps_file, rpps_name, synth,
    },
    helpers::{TestApp, expect_error, spawn_app, spawn_app_with_config, violation_fields},
};

/// Lines of `path` identical to an earlier line: the synthetic generator sometimes gives a
/// professional the same activity twice, which the importer rightly rejects as
/// `duplicate_line` although the manifest counts it as valid.
fn repeated_lines(path: &std::path::Path) -> Vec<u64> {
    let bytes = std::fs::read(path).expect("read");
    let mut seen = HashSet::new();
    let mut repeated = Vec::new();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if !line.is_empty() && !seen.insert(line.to_vec()) {
            repeated.push(i as u64 + 1);
        }
    }
    repeated
}

#[tokio::test]
async fn a_synthetic_directory_imports_with_every_broken_row_reported() {
    let app = spawn_app().await;
    let (_dir, m) = synth(SynthSpec {
        professionals: 300,
        structures: 40,
        identities: 50,
        broken: 24,
        ..SynthSpec::default()
    });

    let finess = import_file(&app, DirectorySource::Finess, &m.finess_file)
        .await
        .expect("finess import");
    let rpps = import_file(&app, DirectorySource::Rpps, &m.rpps_file)
        .await
        .expect("rpps import");
    let ins = import_file(&app, DirectorySource::Ins, &m.identities_file)
        .await
        .expect("ins import");
    let rights = import_file(&app, DirectorySource::Rights, &m.rights_file)
        .await
        .expect("rights import");

    let rpps_name = m
        .rpps_file
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let listed: HashSet<u64> = m.broken_in(&rpps_name).map(|b| b.line).collect();
    let accidental: Vec<u64> = repeated_lines(&m.rpps_file)
        .into_iter()
        .filter(|l| !listed.contains(l))
        .collect();
    for (imported, file) in [
        (&finess, &m.finess_file),
        (&rpps, &m.rpps_file),
        (&ins, &m.identities_file),
        (&rights, &m.rights_file),
    ] {
        let name = file.file_name().unwrap().to_str().unwrap();
        let mut expected: Vec<(u64, &str)> = m.broken_in(name).map(|b| (b.line, b.code)).collect();
        if name == rpps_name {
            expected.extend(accidental.iter().map(|l| (*l, "duplicate_line")));
            expected.sort();
        }
        let got: Vec<(u64, &str)> = imported
            .rejects
            .iter()
            .map(|r| (r.line, r.code.as_str()))
            .collect();
        assert_eq!(got, expected, "rejects of {name}");
        assert_eq!(
            imported.counts().rejected as usize,
            expected.len(),
            "{name}"
        );
    }
    assert_eq!(rpps.counts().entities as usize, m.professionals);
    assert_eq!(rpps.counts().added as usize, m.professionals);
    assert_eq!(
        rpps.counts().rows as usize,
        m.activity_lines - accidental.len()
    );
    assert_eq!(finess.counts().entities as usize, m.establishments);
    assert_eq!(ins.counts().entities as usize, m.identities);
    assert_eq!(rights.counts().rows as usize, m.rights_lines);

    // The same files again change nothing.
    let again = import_file(&app, DirectorySource::Rpps, &m.rpps_file)
        .await
        .expect("re-import");
    let c = again.counts();
    assert_eq!(
        (c.added, c.updated, c.deactivated, c.reactivated),
        (0, 0, 0, 0)
    );
    assert_eq!(c.unchanged as usize, m.professionals);
}

// ---- RPPS: changes, counts and events ---------------------------------------------------------

pub(crate) fn counts(i: &DirectoryImport) -> (u64, u64, u64, u64, u64, u64) {
    let c = i.counts.unwrap_or_default();
    (
        c.entities,
        c.added,
        c.updated,
        c.deactivated,
        c.reactivated,
        c.unchanged,
    )
}

pub(crate) async fn professional(app: &TestApp, ps: &Ps) -> Professional {
    app.client
        .clone()
        .get_professional(GetProfessionalRequest {
            id_nat_ps: ps.id_nat_ps(),
        })
        .await
        .expect("listed")
        .into_inner()
        .professional
        .expect("professional")
}

/// The professionals of the directory tests.
pub(crate) fn five() -> [Ps; 5] {
    [
        Ps::new(1, "ARNAUD", "Alice"),
        Ps::new(2, "BERTIN", "Bruno"),
        Ps::new(3, "CHEVALIER", "Chloé"),
        Ps::new(4, "DUMAS", "David"),
        Ps::new(5, "ÉTIENNE", "Élodie"),
    ]
}

/// (event type, idNat_PS, import id) of the professional events.
async fn professional_events(app: &TestApp) -> Vec<(String, String, String)> {
    app.events()
        .await
        .into_iter()
        .filter_map(|e| match e.envelope.payload {
            Some(Payload::ProfessionalChanged(p)) => Some((e.event_type, p.id_nat_ps, p.import_id)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_newer_extract_is_applied_as_exact_changes_with_one_event_each() {
    let app = spawn_app_with_config(|c| c.directory.max_deactivation_ratio = 0.5).await;
    let [a, b, c, d, e] = five();
    let first = import_rpps(
        &app,
        &rpps_name(10),
        rpps_file(&[
            a.line(&Act::at("S-A")),
            b.line(&Act::at("S-B")),
            c.line(&Act::at("S-C")),
            d.line(&Act::at("S-D1")),
            d.line(&Act::at("S-D2")),
        ]),
    )
    .await;
    assert_eq!(counts(&first.done), (4, 4, 0, 0, 0, 0));
    assert_eq!(
        (
            first.counts().lines,
            first.counts().rows,
            first.counts().rejected
        ),
        (6, 5, 0)
    );
    assert!(
        professional_events(&app).await.is_empty(),
        "additions carry no per-professional event"
    );

    // B renamed, C gone, D lost an activity, E new, A untouched.
    let b2 = Ps {
        last_name: "BERTIN-MARCHAND".into(),
        ..b.clone()
    };
    let second = import_rpps(
        &app,
        &rpps_name(11),
        rpps_file(&[
            a.line(&Act::at("S-A")),
            b2.line(&Act::at("S-B")),
            d.line(&Act::at("S-D1")),
            e.line(&Act::at("S-E")),
        ]),
    )
    .await;
    assert_eq!(counts(&second.done), (4, 1, 2, 1, 0, 1));
    let id2 = second.done.id.clone();
    let mut events = professional_events(&app).await;
    events.sort();
    assert_eq!(
        events,
        vec![
            (
                "egide.enrolment.professional.deactivated".into(),
                c.id_nat_ps(),
                id2.clone()
            ),
            (
                "egide.enrolment.professional.updated".into(),
                b.id_nat_ps(),
                id2.clone()
            ),
            (
                "egide.enrolment.professional.updated".into(),
                d.id_nat_ps(),
                id2.clone()
            ),
        ]
    );
    assert_eq!(professional(&app, &b).await.last_name, "BERTIN-MARCHAND");
    assert_eq!(professional(&app, &d).await.activities.len(), 1);
    assert!(!professional(&app, &c).await.active);
    let untouched = professional(&app, &a).await;
    assert_eq!(
        untouched.directory_import_id, first.done.id,
        "an unchanged entry keeps its import"
    );

    // C back.
    let third = import_rpps(
        &app,
        &rpps_name(12),
        rpps_file(&[
            a.line(&Act::at("S-A")),
            b2.line(&Act::at("S-B")),
            c.line(&Act::at("S-C")),
            d.line(&Act::at("S-D1")),
            e.line(&Act::at("S-E")),
        ]),
    )
    .await;
    assert_eq!(counts(&third.done), (5, 0, 0, 0, 1, 4));
    let reactivated = professional_events(&app)
        .await
        .into_iter()
        .filter(|(t, ..)| t.ends_with("reactivated"))
        .collect::<Vec<_>>();
    assert_eq!(
        reactivated,
        vec![(
            "egide.enrolment.professional.reactivated".into(),
            c.id_nat_ps(),
            third.done.id.clone()
        )]
    );

    // Each applied import is an event too, and the list shows them newest first.
    let imported = app.events_of("egide.enrolment.directory.imported").await;
    assert_eq!(imported.len(), 3);
    match &imported[1].envelope.payload {
        Some(Payload::DirectoryImported(i)) => {
            assert_eq!(i.import.as_ref().map(counts), Some((4, 1, 2, 1, 0, 1)))
        }
        other => panic!("{other:?}"),
    }
    let list = app
        .client
        .clone()
        .list_directory_imports(crate::patient::as_operator(
            "op-test",
            ListDirectoryImportsRequest {
                source: DirectorySource::Rpps as i32,
                page_size: 2,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<_> = list.imports.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, [third.done.id.as_str(), id2.as_str()]);
    assert!(
        list.imports
            .iter()
            .all(|i| i.state() == ImportState::Completed && i.sha256.len() == 64)
    );
    assert_eq!(list.imports[0].file_name, rpps_name(12));
    assert_eq!(list.active_entities.get("rpps"), Some(&5));
    assert_eq!(list.active_entities.get("finess"), Some(&0));
}

#[tokio::test]
async fn an_older_extract_is_refused_unless_asked_for() {
    let app = spawn_app().await;
    let [a, b, ..] = five();
    let file = rpps_file(&[a.line(&Act::at("S-A")), b.line(&Act::at("S-B"))]);
    import_rpps(&app, &rpps_name(12), file.clone()).await;
    let older = import_bytes(
        &app,
        DirectorySource::Rpps,
        &rpps_name(11),
        file.clone(),
        ImportHeader::default(),
    )
    .await;
    expect_error(older, Code::FailedPrecondition, "older_extract");
    let forced = import_bytes(
        &app,
        DirectorySource::Rpps,
        &rpps_name(11),
        file,
        ImportHeader {
            allow_older: true,
            ..Default::default()
        },
    )
    .await
    .expect("allowed");
    assert_eq!(counts(&forced.done), (2, 0, 0, 0, 0, 2));

    // FINESS reads its date from the metadata line.
    let etab = Etab::new(35_000_010, "CH DE RENNES");
    import_finess(&app, finess_file(day(12), &[etab.line(Encoding::Utf8)])).await;
    let older = import_bytes(
        &app,
        DirectorySource::Finess,
        &finess_name(),
        finess_file(day(11), &[etab.line(Encoding::Utf8)]),
        ImportHeader::default(),
    )
    .await;
    expect_error(older, Code::FailedPrecondition, "older_extract");
}

#[tokio::test]
async fn a_file_that_would_empty_the_directory_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let [a, b, c, ..] = five();
    let full = rpps_file(&[
        a.line(&Act::at("S-A")),
        b.line(&Act::at("S-B")),
        c.line(&Act::at("S-C")),
    ]);
    import_rpps(&app, &rpps_name(10), full).await;
    let events_before = app.events().await.len();

    for (day, bytes) in [
        (11, rpps_file(&[a.line(&Act::at("S-A"))])),
        (12, rpps_file(&[])),
    ] {
        let refused = import_bytes(
            &app,
            DirectorySource::Rpps,
            &rpps_name(day),
            bytes,
            ImportHeader::default(),
        )
        .await;
        let status = expect_error(refused, Code::FailedPrecondition, "mass_deactivation");
        assert!(status.message().contains("5.0%"), "{}", status.message());
    }
    assert!(professional(&app, &b).await.active && professional(&app, &c).await.active);
    assert_eq!(
        app.events().await.len(),
        events_before,
        "nothing applied, nothing published"
    );
    let list = app
        .client
        .clone()
        .list_directory_imports(crate::patient::as_operator(
            "op-test",
            ListDirectoryImportsRequest::default(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        list.imports.iter().map(|i| i.state()).collect::<Vec<_>>(),
        [
            ImportState::Failed,
            ImportState::Failed,
            ImportState::Completed
        ]
    );
    assert!(
        list.imports[0].failure.contains("would deactivate 3 of 3"),
        "{}",
        list.imports[0].failure
    );
    assert_eq!(list.active_entities.get("rpps"), Some(&3));

    // The operator may insist.
    let forced = import_bytes(
        &app,
        DirectorySource::Rpps,
        &rpps_name(13),
        rpps_file(&[a.line(&Act::at("S-A"))]),
        ImportHeader {
            allow_mass_deactivation: true,
            ..Default::default()
        },
    )
    .await
    .expect("forced");
    assert_eq!(counts(&forced.done), (1, 0, 0, 2, 0, 1));
}

#[tokio::test]
async fn a_header_only_file_imports_nothing() {
    let app = spawn_app().await;
    let empty = import_rpps(&app, &rpps_name(10), rpps_file(&[])).await;
    let c = empty.counts();
    assert_eq!(
        (c.lines, c.rows, c.rejected, c.entities, c.added),
        (1, 0, 0, 0, 0)
    );
    assert_eq!(empty.done.state(), ImportState::Completed);
}

#[tokio::test]
async fn rows_of_a_professional_scattered_in_the_file_are_merged() {
    let app = spawn_app().await;
    let [a, b, ..] = five();
    let file = rpps_file(&[
        a.line(&Act::at("S-A1")),
        b.line(&Act::at("S-B1")),
        a.line(&Act::at("S-A2")),
        b.line(&Act::at("S-B2")),
        a.line(&Act::at("S-A1")),
    ]);
    let imported = import_rpps(&app, &rpps_name(10), file.clone()).await;
    let c = imported.counts();
    assert_eq!(
        (c.lines, c.rows, c.rejected, c.entities, c.added),
        (6, 4, 1, 2, 2)
    );
    let sites = |p: Professional| {
        p.activities
            .into_iter()
            .map(|a| a.site_name)
            .collect::<Vec<_>>()
    };
    assert_eq!(sites(professional(&app, &a).await), ["S-A1", "S-A2"]);
    assert_eq!(sites(professional(&app, &b).await), ["S-B1", "S-B2"]);
    let rejects = rejects_page(&app, &imported.done.id, 0, 0).await;
    let got: Vec<_> = rejects
        .rejects
        .iter()
        .map(|r| (r.line, r.code.as_str(), r.reason.as_str()))
        .collect();
    assert_eq!(got, [(6, "duplicate_line", "same activity as line 2")]);

    // The same file again: merged the same way, nothing changes.
    let again = import_rpps(&app, &rpps_name(11), file).await;
    assert_eq!(counts(&again.done), (2, 0, 0, 0, 0, 2));
}

#[tokio::test]
async fn a_scattered_professional_whose_name_changes_is_updated() {
    let app = spawn_app().await;
    let [a, b, ..] = five();
    let scattered = |a: &Ps| {
        rpps_file(&[
            a.line(&Act::at("S-A1")),
            b.line(&Act::at("S-B1")),
            a.line(&Act::at("S-A2")),
        ])
    };
    import_rpps(&app, &rpps_name(10), scattered(&a)).await;
    let renamed = Ps {
        last_name: "ARNAUD-LEROY".into(),
        ..a.clone()
    };
    let second = import_rpps(&app, &rpps_name(11), scattered(&renamed)).await;
    assert_eq!(counts(&second.done), (2, 0, 1, 0, 0, 1));
    assert_eq!(professional(&app, &a).await.last_name, "ARNAUD-LEROY");
}

#[tokio::test]
async fn regrouping_the_same_rows_changes_nothing() {
    let app = spawn_app().await;
    let [a, b, ..] = five();
    let (a1, a2, b1) = (
        a.line(&Act::at("S-A1")),
        a.line(&Act::at("S-A2")),
        b.line(&Act::at("S-B1")),
    );
    import_rpps(
        &app,
        &rpps_name(10),
        rpps_file(&[a1.clone(), b1.clone(), a2.clone()]),
    )
    .await;
    let regrouped = import_rpps(&app, &rpps_name(11), rpps_file(&[a1, a2, b1])).await;
    assert_eq!(counts(&regrouped.done), (2, 0, 0, 0, 0, 2));
    assert!(
        app.events_of("egide.enrolment.professional.updated")
            .await
            .is_empty()
    );
}

pub(crate) async fn rejects_page(
    app: &TestApp,
    import_id: &str,
    after_line: u64,
    page_size: u32,
) -> ListImportRejectsResponse {
    app.client
        .clone()
        .list_import_rejects(crate::patient::as_operator(
            "op-test",
            ListImportRejectsRequest {
                import_id: import_id.into(),
                after_line,
                page_size,
            },
        ))
        .await
        .expect("rejects")
        .into_inner()
}

// ---- FINESS encodings ------------------------------------------------------------------------

#[tokio::test]
async fn a_latin1_finess_extract_reads_its_accents_right() {
    finess_accents(Encoding::Latin1).await;
}

#[tokio::test]
async fn a_utf8_finess_extract_reads_its_accents_right() {
    finess_accents(Encoding::Utf8).await;
}

async fn finess_accents(encoding: Encoding) {
    use egide_proto::enrolment::v1::{
        GetStructureRequest, RegisterStructureRequest, register_structure_request::Identifier,
    };
    let app = spawn_app().await;
    let vitre = Etab {
        long_name: "CENTRE HOSPITALIER DE VITRÉ".into(),
        town_line: "35500 VITRÉ".into(),
        ..Etab::new(35_000_044, "CH DE VITRÉ")
    };
    let file = finess_file(
        day(13),
        &[
            vitre.line(encoding),
            vitre.geo_line(351_234.5, 6_789_012.25),
        ],
    );
    if encoding == Encoding::Latin1 {
        assert!(std::str::from_utf8(&file).is_err(), "really Latin-1");
    }
    let imported = import_finess(&app, file).await;
    let c = imported.counts();
    assert_eq!(
        (c.lines, c.rows, c.rejected, c.entities, c.added),
        (3, 2, 0, 1, 1)
    );

    let registered = app
        .client
        .clone()
        .register_structure(RegisterStructureRequest {
            identifier: Some(Identifier::Finess(vitre.finess.clone())),
            ..Default::default()
        })
        .await
        .expect("registered from the directory")
        .into_inner()
        .structure
        .unwrap();
    assert_eq!(registered.name, "CH DE VITRÉ");
    let got = app
        .client
        .clone()
        .get_structure(GetStructureRequest {
            id_nat_struct: registered.id_nat_struct.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .structure
        .unwrap()
        .establishment
        .expect("establishment");
    assert_eq!(
        (got.name.as_str(), got.long_name.as_str(), got.town.as_str()),
        ("CH DE VITRÉ", "CENTRE HOSPITALIER DE VITRÉ", "VITRÉ")
    );
    assert_eq!(got.address, "2 R HENRI LE GUILLOUX, 35500 VITRÉ");
    assert_eq!(
        (
            got.category_code.as_str(),
            got.department_code.as_str(),
            got.updated_on.as_str()
        ),
        ("355", "35", "2024-05-02")
    );
    let geo = got.geolocation.expect("geolocated");
    assert_eq!(
        (geo.x, geo.y, geo.date.as_str()),
        (351_234.5, 6_789_012.25, "2024-05-02")
    );
    assert!(got.active);
}

#[tokio::test]
async fn the_same_finess_data_in_another_encoding_is_unchanged() {
    let app = spawn_app().await;
    let vitre = Etab {
        town_line: "35500 VITRÉ".into(),
        ..Etab::new(35_000_044, "CH DE VITRÉ")
    };
    import_finess(&app, finess_file(day(13), &[vitre.line(Encoding::Latin1)])).await;
    let again = import_finess(&app, finess_file(day(14), &[vitre.line(Encoding::Utf8)])).await;
    assert_eq!(counts(&again.done), (1, 0, 0, 0, 0, 1));
}

#[tokio::test]
async fn the_ins_reference_answers_like_insi() {
    use egide_proto::enrolment::v1::{InsSearchResult, SearchInsIdentityRequest};
    let app = spawn_app().await;
    let twin = |body: &str| crate::files::Person {
        nir: crate::files::nir(body),
        birth_name: "DUPONT",
        given_names: "JEAN",
        sex: "M",
        birth_date: "1980-01-15",
        birth_place: "75056",
    };
    crate::files::import_reference(&app, &[twin("1800175056001"), twin("1800175056002")]).await;
    let search = |traits| {
        let mut client = app.client.clone();
        async move {
            client
                .search_ins_identity(SearchInsIdentityRequest {
                    traits: Some(traits),
                })
                .await
                .map(|r| r.into_inner())
        }
    };
    let zoe = crate::files::Person::zoe();
    let found = search(zoe.traits()).await.expect("search");
    assert_eq!(found.result(), InsSearchResult::Found);
    let identity = found.identity.expect("the identity");
    assert_eq!(
        (identity.nir.as_str(), identity.oid.as_str()),
        (zoe.nir.as_str(), crate::files::TEST_OID)
    );
    assert_eq!(
        search(twin("1800175056003").traits())
            .await
            .unwrap()
            .result(),
        InsSearchResult::Several
    );
    let nobody = crate::files::Person {
        birth_place: "75112",
        ..zoe
    };
    let none = search(nobody.traits()).await.unwrap();
    assert_eq!(
        (none.result(), none.identity),
        (InsSearchResult::None, None)
    );
    let status = expect_error(
        search(egide_proto::enrolment::v1::IdentityTraits::default()).await,
        Code::InvalidArgument,
        "invalid_argument",
    );
    assert_eq!(
        violation_fields(&status),
        [
            "traits.birth_name",
            "traits.given_names",
            "traits.sex",
            "traits.birth_date",
            "traits.birth_place"
        ]
    );
}
