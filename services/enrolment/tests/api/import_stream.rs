//! The `ImportDirectory` stream itself: refused headers and files, line ends, cut files,
//! rejects and their listing, one import per source at a time, a client that goes away.

use std::{net::SocketAddr, time::Duration};

use egide_directory::finess::Encoding;
use egide_proto::enrolment::v1::{
    DirectorySource, ImportDirectoryRequest, ImportHeader, ImportState,
    ListDirectoryImportsRequest, ListImportRejectsRequest,
    enrolment_service_client::EnrolmentServiceClient, import_directory_request::Part,
};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

use crate::{
    directory::{counts, five, professional, rejects_page},
    files::{
        Act, Etab, Ps, collect, day, finess_file, finess_name, import_bytes, import_finess,
        import_messages, import_rpps, rpps_file, rpps_name,
    },
    helpers::{TestApp, error_metadata, eventually, expect_error, spawn_app, violation_fields},
};

#[tokio::test]
async fn unreadable_files_are_refused_as_bad_files() {
    let app = spawn_app().await;
    let [a, ..] = five();
    let bad_header = {
        let mut f = rpps_file(&[a.line(&Act::at("S-A"))]);
        f[0] = b'X';
        f
    };
    let cases: Vec<(DirectorySource, String, Vec<u8>, &str)> = vec![
        (
            DirectorySource::Rpps,
            rpps_name(10),
            bad_header,
            "bad_header",
        ),
        (
            DirectorySource::Rpps,
            rpps_name(10),
            Vec::new(),
            "empty_file",
        ),
        (
            DirectorySource::Finess,
            finess_name(),
            b"finess;etalab;1;2024-13-01\n".to_vec(),
            "bad_metadata",
        ),
        (
            DirectorySource::Ins,
            "ins_reference.csv".into(),
            b"nir;oid\n".to_vec(),
            "bad_header",
        ),
    ];
    for (source, name, bytes, check) in cases {
        let status = expect_error(
            import_bytes(&app, source, &name, bytes, ImportHeader::default()).await,
            Code::FailedPrecondition,
            "bad_file",
        );
        assert_eq!(
            error_metadata(&status, "check").as_deref(),
            Some(check),
            "{status:?}"
        );
    }
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
    assert_eq!(list.imports.len(), 4);
    assert!(
        list.imports
            .iter()
            .all(|i| i.state() == ImportState::Failed && !i.failure.is_empty()),
        "{:?}",
        list.imports
    );
    assert!(list.active_entities.values().all(|n| *n == 0));
}

#[tokio::test]
async fn bad_import_headers_are_invalid_argument() {
    let app = spawn_app().await;
    let file = rpps_file(&[five()[0].line(&Act::at("S-A"))]);
    let cases: Vec<(DirectorySource, &str, ImportHeader, &str)> = vec![
        (
            DirectorySource::Rpps,
            "PS_LibreAcces_Personne_activite.txt",
            ImportHeader::default(),
            "header.file_name",
        ),
        (
            DirectorySource::Rpps,
            "PS_LibreAcces_Personne_activite_202413011200.txt",
            ImportHeader::default(),
            "header.file_name",
        ),
        (
            DirectorySource::Finess,
            "../etalab-cs1100502-stock-20240513.csv",
            ImportHeader::default(),
            "header.file_name",
        ),
        (
            DirectorySource::Unspecified,
            "x.csv",
            ImportHeader::default(),
            "header.source",
        ),
    ];
    for (source, name, header, field) in cases {
        let status = expect_error(
            import_bytes(&app, source, name, file.clone(), header).await,
            Code::InvalidArgument,
            "invalid_argument",
        );
        assert_eq!(violation_fields(&status), [field], "{name}");
    }
    // Chunks before the header.
    let mut messages = import_messages(
        DirectorySource::Rpps,
        &rpps_name(10),
        &file,
        ImportHeader::default(),
    );
    messages.swap(0, 1);
    let status = expect_error(
        app.client
            .clone()
            .import_directory(crate::patient::as_operator(
                "op-test",
                futures::stream::iter(messages),
            ))
            .await,
        Code::InvalidArgument,
        "invalid_argument",
    );
    assert_eq!(violation_fields(&status), ["header"]);
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
    assert!(
        list.imports.is_empty(),
        "no import was recorded: {:?}",
        list.imports
    );
}

#[tokio::test]
async fn a_file_cut_in_the_middle_of_its_last_line_rejects_that_line_only() {
    let app = spawn_app().await;
    let [a, b, c, ..] = five();
    let mut file = rpps_file(&[a.line(&Act::at("S-A")), b.line(&Act::at("S-B"))]);
    let last = c.line(&Act::at("S-C"));
    file.extend_from_slice(&last[..last.len() / 2]);
    let imported = import_rpps(&app, &rpps_name(10), file).await;
    let counts = imported.counts();
    assert_eq!(
        (counts.lines, counts.rows, counts.rejected, counts.entities),
        (4, 2, 1, 2)
    );
    let rejects: Vec<_> = imported
        .rejects
        .iter()
        .map(|r| (r.line, r.code.as_str()))
        .collect();
    assert_eq!(rejects, [(4, "truncated")]);

    // A complete last line without its newline is fine.
    let mut file = rpps_file(&[
        a.line(&Act::at("S-A")),
        b.line(&Act::at("S-B")),
        c.line(&Act::at("S-C")),
    ]);
    file.pop();
    let imported = import_rpps(&app, &rpps_name(11), file).await;
    assert_eq!(
        (
            imported.counts().rows,
            imported.counts().rejected,
            imported.counts().reactivated
        ),
        (3, 0, 0)
    );
    assert_eq!(imported.counts().added, 1);
}

#[tokio::test]
async fn crlf_line_ends_read_like_lf() {
    let app = spawn_app().await;
    let [a, b, ..] = five();
    let lf = rpps_file(&[
        a.line(&Act::reachable("S-A", "alice@example.test", "0299000000")),
        b.line(&Act::at("S-B")),
    ]);
    let crlf: Vec<u8> = String::from_utf8(lf.clone())
        .unwrap()
        .replace('\n', "\r\n")
        .into_bytes();
    let first = import_rpps(&app, &rpps_name(10), crlf).await;
    assert_eq!(
        (
            first.counts().lines,
            first.counts().rows,
            first.counts().rejected,
            first.counts().entities
        ),
        (3, 2, 0, 2)
    );
    let alice = professional(&app, &a).await;
    assert_eq!(alice.activities[0].email, "alice@example.test");
    // The same content with LF ends is the same directory.
    let again = import_rpps(&app, &rpps_name(11), lf).await;
    assert_eq!(counts(&again.done), (2, 0, 0, 0, 0, 2));
}

#[tokio::test]
async fn every_reject_is_streamed_as_it_is_found() {
    let app = spawn_app().await;
    let [a, b, ..] = five();
    let file = rpps_file(&[
        a.line(&Act::at("S-A1")),
        b.line(&Act::at("S-B1")),
        a.line(&Act::at("S-A1")),
    ]);
    let imported = import_rpps(&app, &rpps_name(10), file).await;
    assert_eq!(imported.counts().rejected, 1);
    let streamed: Vec<_> = imported
        .rejects
        .iter()
        .map(|r| (r.line, r.code.as_str()))
        .collect();
    assert_eq!(streamed, [(4, "duplicate_line")]);
}

#[tokio::test]
async fn rejects_are_listed_in_line_order_page_by_page() {
    let app = spawn_app().await;
    let [a, ..] = five();
    let mut lines = vec![a.line(&Act::at("S-A"))];
    for i in 0..5 {
        lines.push(format!("9|broken-{i}|\n").into_bytes());
    }
    let imported = import_rpps(&app, &rpps_name(10), rpps_file(&lines)).await;
    assert_eq!(imported.counts().rejected, 5);
    let id = imported.done.id.clone();

    let mut pages = Vec::new();
    let mut after = 0;
    loop {
        let page = rejects_page(&app, &id, after, 2).await;
        pages.push(page.rejects.iter().map(|r| r.line).collect::<Vec<_>>());
        assert!(page.rejects.iter().all(|r| r.code == "column_count"));
        if page.next_after_line == 0 {
            break;
        }
        after = page.next_after_line;
    }
    assert_eq!(pages, vec![vec![3, 4], vec![5, 6], vec![7]]);
    assert_eq!(rejects_page(&app, &id, 0, 0).await.rejects.len(), 5);
    expect_error(
        app.client
            .clone()
            .list_import_rejects(crate::patient::as_operator(
                "op-test",
                ListImportRejectsRequest {
                    import_id: uuid::Uuid::now_v7().to_string(),
                    ..Default::default()
                },
            ))
            .await,
        Code::NotFound,
        "import_not_found",
    );
}

// ---- Concurrency and failures ------------------------------------------------------------------

/// An import whose messages the test sends one by one.
struct OpenImport {
    tx: tokio::sync::mpsc::Sender<ImportDirectoryRequest>,
    rest: std::vec::IntoIter<ImportDirectoryRequest>,
    response: tonic::Streaming<egide_proto::enrolment::v1::ImportDirectoryResponse>,
}

/// Opens an import on `client` and sends its header and first chunk only.
async fn open_import(
    client: &mut EnrolmentServiceClient<tonic::transport::Channel>,
    name: &str,
    bytes: &[u8],
) -> OpenImport {
    let mut messages =
        import_messages(DirectorySource::Rpps, name, bytes, ImportHeader::default()).into_iter();
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tx.send(messages.next().unwrap()).await.unwrap();
    tx.send(messages.next().unwrap()).await.unwrap();
    let response = client
        .import_directory(crate::patient::as_operator(
            "op-test",
            ReceiverStream::new(rx),
        ))
        .await
        .expect("import open")
        .into_inner();
    OpenImport {
        tx,
        rest: messages,
        response,
    }
}

/// A file of `n` professionals (more than one chunk), after `first`.
fn big_file_after(first: &[Vec<u8>], n: u64) -> Vec<u8> {
    let mut lines = first.to_vec();
    lines.extend((0..n).map(|i| Ps::new(100 + i, "MARTIN", "Jean").line(&Act::at("CABINET"))));
    rpps_file(&lines)
}

fn big_file(n: u64) -> Vec<u8> {
    big_file_after(&[], n)
}

#[tokio::test]
async fn only_one_import_of_a_source_runs_at_a_time() {
    let app = spawn_app().await;
    let file = big_file(300);
    assert!(file.len() > 64 * 1024, "several chunks");
    let mut client = app.client.clone();
    let open = open_import(&mut client, &rpps_name(10), &file).await;

    let second = import_rpps_result(&app, &rpps_name(10), file.clone()).await;
    expect_error(second, Code::Aborted, "import_running");
    // Another source is not blocked.
    import_finess(
        &app,
        finess_file(day(13), &[Etab::new(35_000_010, "CH").line(Encoding::Utf8)]),
    )
    .await;

    let OpenImport { tx, rest, response } = open;
    for m in rest {
        tx.send(m).await.unwrap();
    }
    drop(tx);
    let done = collect(response).await.expect("the first import completes");
    assert_eq!(counts(&done.done), (300, 300, 0, 0, 0, 0));
}

async fn import_rpps_result(
    app: &TestApp,
    name: &str,
    bytes: Vec<u8>,
) -> Result<crate::files::Imported, tonic::Status> {
    import_bytes(
        app,
        DirectorySource::Rpps,
        name,
        bytes,
        ImportHeader::default(),
    )
    .await
}

/// A TCP relay to `target` for one connection; aborting the task cuts it.
async fn relay(target: SocketAddr) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (mut inbound, _) = listener.accept().await.unwrap();
        let mut outbound = tokio::net::TcpStream::connect(target).await.unwrap();
        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
    });
    (addr, task)
}

#[tokio::test]
async fn a_client_gone_mid_stream_fails_the_import_and_changes_nothing() {
    let app = spawn_app().await;
    let [a, ..] = five();
    let a_line = a.line(&Act::at("S-A"));
    import_rpps(
        &app,
        &rpps_name(9),
        rpps_file(std::slice::from_ref(&a_line)),
    )
    .await;
    let before = app.events().await.len();
    let file = big_file_after(&[a_line], 300);

    let (addr, cut) = relay(app.addr).await;
    let channel = egide_kit::mesh::dev::channel_as(addr, "enrolment", "gateway")
        .await
        .unwrap();
    let mut client = EnrolmentServiceClient::new(channel);
    let open = open_import(&mut client, &rpps_name(10), &file).await;
    cut.abort();

    let failed = eventually(Duration::from_secs(10), "the import fails", || async {
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
        list.imports
            .into_iter()
            .find(|i| i.file_name == rpps_name(10) && i.state() == ImportState::Failed)
    })
    .await;
    assert!(!failed.failure.is_empty(), "a FAILED import says why");
    drop(open);
    assert_eq!(app.events().await.len(), before, "nothing applied");
    assert_eq!(app.sql_i64("SELECT count(*) FROM professionals").await, 1);

    // Run again: it completes with exact counts.
    let rerun = import_rpps(&app, &rpps_name(10), file).await;
    assert_eq!(counts(&rerun.done), (301, 300, 0, 0, 0, 1));
    assert_eq!(
        (
            rerun.counts().lines,
            rerun.counts().rows,
            rerun.counts().rejected
        ),
        (302, 301, 0)
    );
    assert_eq!(
        app.sql_i64("SELECT count(*) FROM professionals WHERE active")
            .await,
        301
    );
}

#[tokio::test]
async fn a_message_other_than_a_chunk_after_the_header_fails_the_import() {
    let app = spawn_app().await;
    let file = rpps_file(&[five()[0].line(&Act::at("S-A"))]);
    let mut messages = import_messages(
        DirectorySource::Rpps,
        &rpps_name(10),
        &file,
        ImportHeader::default(),
    );
    messages.push(ImportDirectoryRequest {
        part: Some(Part::Header(ImportHeader::default())),
    });
    let stream = app
        .client
        .clone()
        .import_directory(crate::patient::as_operator(
            "op-test",
            futures::stream::iter(messages),
        ))
        .await
        .expect("opened")
        .into_inner();
    let status = expect_error(
        collect(stream).await,
        Code::InvalidArgument,
        "invalid_argument",
    );
    assert_eq!(violation_fields(&status), ["chunk"]);
    assert_eq!(app.sql_i64("SELECT count(*) FROM professionals").await, 0);
}

/// Imports and their listings are operators' (rejected INS rows hold identities): nobody,
/// a patient or an operator without a second factor is refused before a byte is read, and
/// the import records the verified operator.
#[tokio::test]
async fn imports_and_their_listings_need_an_operator() {
    use egide_kit::caller::{Category, PersonCaller};
    let app = spawn_app().await;
    let [a, ..] = five();
    let file = rpps_file(&[a.line(&Act::at("S-A"))]);
    let messages = || {
        futures::stream::iter(import_messages(
            DirectorySource::Rpps,
            &rpps_name(3),
            &file,
            ImportHeader::default(),
        ))
    };
    let patient = PersonCaller {
        category: Category::Patient,
        amr: vec!["hwk".into(), "mfa".into()],
        ..PersonCaller::test_operator("0190f1c2-0000-7000-8000-000000000001")
    };
    let password_only = PersonCaller {
        amr: vec!["pwd".into()],
        ..PersonCaller::test_operator("op-weak")
    };
    for refused in [
        tonic::Request::new(messages()),
        patient.request(messages()),
        password_only.request(messages()),
    ] {
        expect_error(
            app.client.clone().import_directory(refused).await,
            Code::PermissionDenied,
            "operator_required",
        );
    }
    expect_error(
        app.client
            .clone()
            .list_directory_imports(ListDirectoryImportsRequest::default())
            .await,
        Code::PermissionDenied,
        "operator_required",
    );
    assert_eq!(
        app.sql_i64("SELECT count(*) FROM directory_imports").await,
        0
    );
    let done = collect(
        app.client
            .clone()
            .import_directory(crate::patient::as_operator("op-ans-1", messages()))
            .await
            .unwrap()
            .into_inner(),
    )
    .await
    .unwrap();
    assert_eq!(done.done.state(), ImportState::Completed);
    assert_eq!(
        app.sql_text("SELECT operator FROM directory_imports").await,
        "op-ans-1"
    );
}
