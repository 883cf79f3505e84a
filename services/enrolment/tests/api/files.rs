//! Directory files for the tests, written line by line with `egide_directory`'s writers,
//! and their import through `ImportDirectory`.

use std::path::Path;

use chrono::NaiveDate;
use egide_directory::{
    finess::{self, Encoding},
    ins, rpps,
    synth::{SynthManifest, SynthSpec, write_all},
};
use egide_ids::{Finess, Nir, Rpps};
use egide_proto::enrolment::v1::{
    DirectoryImport, DirectorySource, IdentityTraits, ImportCounts, ImportDirectoryRequest,
    ImportHeader, ImportReject, import_directory_request::Part,
    import_directory_response::Part as Out,
};

use crate::helpers::TestApp;

// ---- Imports ------------------------------------------------------------------------------

/// What one import returned.
#[derive(Debug)]
pub struct Imported {
    pub done: DirectoryImport,
    /// The rejects the stream sent.
    pub rejects: Vec<ImportReject>,
}

impl Imported {
    pub fn counts(&self) -> ImportCounts {
        self.done.counts.unwrap_or_default()
    }
}

/// The messages of an import of `bytes` as file `name` of `source`.
pub fn import_messages(
    source: DirectorySource,
    name: &str,
    bytes: &[u8],
    header: ImportHeader,
) -> Vec<ImportDirectoryRequest> {
    let mut messages = vec![ImportDirectoryRequest {
        part: Some(Part::Header(ImportHeader {
            source: source as i32,
            file_name: name.to_owned(),
            size_bytes: bytes.len() as u64,
            ..header
        })),
    }];
    for chunk in bytes.chunks(64 * 1024) {
        messages.push(ImportDirectoryRequest {
            part: Some(Part::Chunk(chunk.to_vec())),
        });
    }
    messages
}

/// Reads an import's response stream to its end.
pub async fn collect(
    mut stream: tonic::Streaming<egide_proto::enrolment::v1::ImportDirectoryResponse>,
) -> Result<Imported, tonic::Status> {
    let mut rejects = Vec::new();
    while let Some(message) = stream.message().await? {
        match message.part {
            Some(Out::Reject(r)) => rejects.push(r),
            Some(Out::Done(done)) => return Ok(Imported { done, rejects }),
            _ => {}
        }
    }
    panic!("the import stream ended without a result");
}

/// Streams `bytes` as file `name` of `source`.
pub async fn import_bytes(
    app: &TestApp,
    source: DirectorySource,
    name: &str,
    bytes: Vec<u8>,
    header: ImportHeader,
) -> Result<Imported, tonic::Status> {
    let messages = import_messages(source, name, &bytes, header);
    let stream = app
        .client
        .clone()
        .import_directory(crate::patient::as_operator(
            "op-test",
            futures::stream::iter(messages),
        ))
        .await?
        .into_inner();
    collect(stream).await
}

/// Streams the file at `path`.
pub async fn import_file(
    app: &TestApp,
    source: DirectorySource,
    path: &Path,
) -> Result<Imported, tonic::Status> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("file name")
        .to_owned();
    let bytes = std::fs::read(path).expect("read synth file");
    import_bytes(app, source, &name, bytes, ImportHeader::default()).await
}

/// Imports an RPPS file, expecting it to complete.
pub async fn import_rpps(app: &TestApp, name: &str, bytes: Vec<u8>) -> Imported {
    import_bytes(
        app,
        DirectorySource::Rpps,
        name,
        bytes,
        ImportHeader::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("RPPS import {name}: {e:?}"))
}

/// Imports a FINESS file, expecting it to complete.
pub async fn import_finess(app: &TestApp, bytes: Vec<u8>) -> Imported {
    import_bytes(
        app,
        DirectorySource::Finess,
        &finess_name(),
        bytes,
        ImportHeader::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("FINESS import: {e:?}"))
}

/// A synthetic directory in a fresh temp dir.
pub fn synth(spec: SynthSpec) -> (tempdir::Dir, SynthManifest) {
    let dir = tempdir::Dir::new();
    let manifest = write_all(dir.path(), &spec).expect("synth");
    (dir, manifest)
}

pub mod tempdir {
    /// A temporary directory removed on drop.
    pub struct Dir(std::path::PathBuf);

    impl Dir {
        pub fn new() -> Self {
            let p = std::env::temp_dir().join(format!("egide-dir-test-{}", uuid::Uuid::now_v7()));
            std::fs::create_dir_all(&p).expect("temp dir");
            Self(p)
        }

        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

// ---- INS and rights references -----------------------------------------------------------

/// The INS test OID (domain.md §1).
pub const TEST_OID: &str = "1.2.250.1.213.1.4.10";

/// One identity of the INS reference.
#[derive(Clone, Debug)]
pub struct Person {
    pub nir: String,
    pub birth_name: &'static str,
    pub given_names: &'static str,
    pub sex: &'static str,
    pub birth_date: &'static str,
    pub birth_place: &'static str,
}

impl Person {
    /// The official test patient ADRUN ZOE.
    pub fn zoe() -> Self {
        Self {
            nir: "275126322074974".into(),
            birth_name: "ADRUN",
            given_names: "ZOE LOUISE",
            sex: "F",
            birth_date: "1975-12-01",
            birth_place: "63220",
        }
    }

    /// Her partner.
    pub fn paul() -> Self {
        Self {
            nir: nir("1780675056042"),
            birth_name: "MARTIN",
            given_names: "PAUL",
            sex: "M",
            birth_date: "1978-06-15",
            birth_place: "75056",
        }
    }

    /// Their daughter, who has a NIR of her own.
    pub fn lea() -> Self {
        Self {
            nir: nir("2150635238017"),
            birth_name: "MARTIN",
            given_names: "LEA",
            sex: "F",
            birth_date: "2015-06-20",
            birth_place: "35238",
        }
    }

    /// The `ins_reference.csv` line.
    pub fn line(&self) -> Vec<u8> {
        let raw = self.raw();
        let identity = ins::parse_identity(raw.as_bytes()).expect("a valid identity");
        let mut out = Vec::new();
        ins::write_identity_line(&mut out, &identity).expect("write identity");
        out
    }

    fn raw(&self) -> String {
        format!(
            "{};{TEST_OID};{};{};{};{};{}",
            self.nir,
            self.birth_name,
            self.given_names,
            self.sex,
            self.birth_date,
            self.birth_place
        )
    }

    /// The traits as the API takes them.
    pub fn traits(&self) -> IdentityTraits {
        IdentityTraits {
            birth_name: self.birth_name.into(),
            given_names: self.given_names.split(' ').map(str::to_owned).collect(),
            sex: self.sex.into(),
            birth_date: self.birth_date.into(),
            birth_place: self.birth_place.into(),
        }
    }

    /// The identity as a proofing provider reads it from the document.
    pub fn attested(&self) -> egide_attest::attestation::Identity {
        egide_attest::attestation::Identity {
            birth_name: self.birth_name.into(),
            given_names: self.given_names.split(' ').map(str::to_owned).collect(),
            sex: if self.sex == "F" {
                egide_attest::attestation::Sex::F
            } else {
                egide_attest::attestation::Sex::M
            },
            birth_date: self.birth_date.into(),
            birth_place: self.birth_place.into(),
        }
    }
}

/// A valid NIR from its 13-digit body.
pub fn nir(body: &str) -> String {
    Nir::from_body(body).expect("a NIR body").to_string()
}

/// An `ins_reference.csv` with these identities.
pub fn ins_file(people: &[Person]) -> Vec<u8> {
    let mut out = format!("{}\n", ins::identity_header_line()).into_bytes();
    for p in people {
        out.extend(p.line());
    }
    out
}

/// One `rights_reference.csv` line, written back through the writer after a parse.
pub fn rights_line(raw: &str) -> Vec<u8> {
    let rights = ins::parse_rights(raw.as_bytes()).unwrap_or_else(|e| panic!("{raw}: {e}"));
    let mut out = Vec::new();
    ins::write_rights_line(&mut out, &rights).expect("write rights");
    out
}

/// A `rights_reference.csv` with these lines.
pub fn rights_file(lines: &[String]) -> Vec<u8> {
    let mut out = format!("{}\n", ins::rights_header_line()).into_bytes();
    for l in lines {
        out.extend(rights_line(l));
    }
    out
}

/// Zoé's rights: her own, her daughter Léa's (own NIR) and a younger child's (birth rank 2).
pub fn zoe_rights() -> Vec<String> {
    let zoe = Person::zoe().nir;
    vec![
        format!("{zoe};{zoe};;assure;01;631;6311;2020-01-01;"),
        format!(
            "{zoe};{};;enfant;01;631;6311;2020-01-01;",
            Person::lea().nir
        ),
        format!("{zoe};;2;enfant;01;631;6311;2022-03-01;2030-12-31"),
    ]
}

/// Imports the INS reference (Zoé, Paul, Léa, plus `extra`) and Zoé's rights.
pub async fn import_reference(app: &TestApp, extra: &[Person]) {
    let mut people = vec![Person::zoe(), Person::paul(), Person::lea()];
    people.extend_from_slice(extra);
    import_bytes(
        app,
        DirectorySource::Ins,
        ins::IDENTITY_FILE_NAME,
        ins_file(&people),
        ImportHeader::default(),
    )
    .await
    .expect("INS import");
    import_bytes(
        app,
        DirectorySource::Rights,
        ins::RIGHTS_FILE_NAME,
        rights_file(&zoe_rights()),
        ImportHeader::default(),
    )
    .await
    .expect("rights import");
}

// ---- RPPS ---------------------------------------------------------------------------------

/// A professional of the RPPS extract.
#[derive(Clone, Debug)]
pub struct Ps {
    pub rpps: String,
    pub last_name: String,
    pub first_name: String,
}

/// One activity of a professional (the columns tests care about; the rest is fixed).
#[derive(Clone, Debug, Default)]
pub struct Act {
    pub site_name: String,
    pub site_finess: String,
    pub town: String,
    pub phone: String,
    pub email: String,
}

impl Act {
    pub fn at(site_name: &str) -> Self {
        Self {
            site_name: site_name.into(),
            town: "Rennes".into(),
            ..Self::default()
        }
    }

    pub fn reachable(site_name: &str, email: &str, phone: &str) -> Self {
        Self {
            email: email.into(),
            phone: phone.into(),
            ..Self::at(site_name)
        }
    }
}

impl Ps {
    /// A physician with RPPS `10` + `body8` + key.
    pub fn new(body8: u64, last_name: &str, first_name: &str) -> Self {
        Self {
            rpps: Rpps::from_body(1_000_000_000 + body8).to_string(),
            last_name: last_name.into(),
            first_name: first_name.into(),
        }
    }

    /// The idNat_PS: `8` + RPPS.
    pub fn id_nat_ps(&self) -> String {
        format!("8{}", self.rpps)
    }

    /// One activity line of the extract.
    pub fn line(&self, a: &Act) -> Vec<u8> {
        let national = self.id_nat_ps();
        let columns: [&str; rpps::COLUMNS] = [
            "8",
            &self.rpps,
            &national,
            "DR",
            "Docteur",
            "M",
            "Monsieur",
            &self.last_name,
            &self.first_name,
            "10",
            "Médecin",
            "C",
            "Civil",
            "S",
            "Spécialité ordinale",
            "SM54",
            "Médecine générale",
            "L",
            "Libéral",
            "",
            "",
            &a.site_finess,
            "",
            "R10000001",
            &a.site_name,
            "",
            "",
            "",
            "12",
            "",
            "R",
            "Rue",
            "de la Santé",
            "",
            "",
            "35000",
            "35238",
            &a.town,
            "",
            "",
            &a.phone,
            "",
            "",
            &a.email,
            "35",
            "Ille-et-Vilaine",
            "",
            "CNOM/CNOM/CNOM",
            "SA07",
            "Cabinet individuel",
            "",
            "",
        ];
        let mut out = Vec::new();
        rpps::write_activity_line(&mut out, &columns).expect("write activity");
        out
    }
}

/// An RPPS extract: the header, then `lines`.
pub fn rpps_file(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("{}\n", rpps::header_line()).into_bytes();
    for l in lines {
        out.extend_from_slice(l);
    }
    out
}

/// The published name of the RPPS extract of 2024-05-`day` 12:00.
pub fn rpps_name(day: u32) -> String {
    let time = NaiveDate::from_ymd_opt(2024, 5, day)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .expect("a date");
    rpps::file_name(time)
}

// ---- FINESS -------------------------------------------------------------------------------

/// An establishment of the FINESS extract.
#[derive(Clone, Debug)]
pub struct Etab {
    pub finess: String,
    pub name: String,
    pub long_name: String,
    pub town_line: String,
    pub siret: String,
}

impl Etab {
    /// Establishment `body8` + key in Ille-et-Vilaine.
    pub fn new(body8: u32, name: &str) -> Self {
        Self {
            finess: Finess::from_body(body8).as_str().to_owned(),
            name: name.into(),
            long_name: format!("{name} (long)"),
            town_line: "35000 RENNES".into(),
            siret: String::new(),
        }
    }

    /// The `structureet` line.
    pub fn line(&self, encoding: Encoding) -> Vec<u8> {
        let fields: [&str; finess::ESTABLISHMENT_FIELDS] = [
            &self.finess,
            &self.finess,
            &self.name,
            &self.long_name,
            "",
            "",
            "2",
            "R",
            "HENRI LE GUILLOUX",
            "",
            "",
            "238",
            "35",
            "ILLE-ET-VILAINE",
            &self.town_line,
            "0299284321",
            "",
            "355",
            "Centre Hospitalier (C.H.)",
            "1102",
            "Centres Hospitaliers",
            &self.siret,
            "8610Z",
            "03",
            "ARS établissements Publics de santé dotation globale",
            "1",
            "Etablissement public de santé",
            "1975-01-01",
            "",
            "2024-05-02",
        ];
        let mut out = Vec::new();
        finess::write_record_line(&mut out, finess::ESTABLISHMENT_KIND, &fields, encoding)
            .expect("write establishment");
        out
    }

    /// Its `geolocalisation` line.
    pub fn geo_line(&self, x: f64, y: f64) -> Vec<u8> {
        let (x, y) = (x.to_string(), y.to_string());
        let mut out = Vec::new();
        finess::write_record_line(
            &mut out,
            finess::GEOLOCATION_KIND,
            &[
                &self.finess,
                &x,
                &y,
                "1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,UTM_N30",
                "2024-05-02",
            ],
            Encoding::Utf8,
        )
        .expect("write geolocation");
        out
    }
}

/// A FINESS extract of `date`: the metadata line, then `records`.
pub fn finess_file(date: NaiveDate, records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    finess::write_metadata_line(
        &mut out,
        &finess::Metadata {
            n: "1".into(),
            date,
        },
    )
    .expect("metadata");
    for r in records {
        out.extend_from_slice(r);
    }
    out
}

/// 2024-05-`day`.
pub fn day(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 5, day).expect("a date")
}

/// The name of the FINESS extract (its date is read from its metadata line).
pub fn finess_name() -> String {
    finess::file_name(day(13))
}
