//! A test IGC-Santé hierarchy made with rcgen: root → ORGANISATIONS CA → ORG AUTH_CLI
//! leaves (`C=FR, ST=<dép.>, O=<organisation>, OU=<idNat_Struct>, CN=<application>`).

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

/// A root and its ORGANISATIONS CA, written as PEM files under a directory.
pub struct TestPki {
    pub root_file: PathBuf,
    pub intermediate_file: PathBuf,
    intermediate: CertifiedIssuer<'static, KeyPair>,
}

/// A leaf certificate and its key, PEM.
pub struct ClientCert {
    /// Leaf then intermediate, as software presents it.
    pub chain_pem: String,
    pub key_pem: String,
    /// The leaf, DER.
    pub der: Vec<u8>,
}

/// What to put in a leaf.
pub struct Leaf {
    /// Empty: no OU (no structure identity).
    pub idnat_struct: String,
    pub organisation: String,
    pub application: String,
    pub eku: ExtendedKeyUsagePurpose,
    pub expired: bool,
}

impl Leaf {
    /// A valid ORG AUTH_CLI leaf.
    pub fn auth_cli(idnat_struct: &str, organisation: &str, application: &str) -> Self {
        Self {
            idnat_struct: idnat_struct.into(),
            organisation: organisation.into(),
            application: application.into(),
            eku: ExtendedKeyUsagePurpose::ClientAuth,
            expired: false,
        }
    }
}

fn ca_params(cn: &str, path_len: Option<u8>) -> CertificateParams {
    let mut p = CertificateParams::default();
    // AKI, which RFC 5280 requires and the validator checks.
    p.use_authority_key_identifier_extension = true;
    p.distinguished_name.push(DnType::CountryName, "FR");
    p.distinguished_name
        .push(DnType::OrganizationName, "ASIP-SANTE");
    p.distinguished_name
        .push(DnType::OrganizationalUnitName, "IGC-SANTE TEST");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(match path_len {
        Some(n) => BasicConstraints::Constrained(n),
        None => BasicConstraints::Unconstrained,
    });
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = OffsetDateTime::now_utc() - Duration::days(365);
    p.not_after = OffsetDateTime::now_utc() + Duration::days(3650);
    p
}

impl TestPki {
    /// A new hierarchy (`label` tells two apart) written to `dir`.
    pub fn new(dir: &Path, label: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let root = CertifiedIssuer::self_signed(
            ca_params(
                &format!("TEST AC RACINE IGC-SANTE ELEMENTAIRE {label}"),
                None,
            ),
            KeyPair::generate().unwrap(),
        )
        .unwrap();
        let mut params = ca_params(
            &format!("TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS {label}"),
            Some(0),
        );
        params.use_authority_key_identifier_extension = true;
        let intermediate =
            CertifiedIssuer::signed_by(params, KeyPair::generate().unwrap(), &root).unwrap();
        let root_file = dir.join(format!("root-{label}.pem"));
        let intermediate_file = dir.join(format!("organisations-{label}.pem"));
        std::fs::write(&root_file, root.pem()).unwrap();
        std::fs::write(&intermediate_file, intermediate.pem()).unwrap();
        Self {
            root_file,
            intermediate_file,
            intermediate,
        }
    }

    /// A leaf issued by the ORGANISATIONS CA.
    pub fn issue(&self, leaf: &Leaf) -> ClientCert {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::default();
        // AKI, which RFC 5280 requires and the validator checks.
        p.use_authority_key_identifier_extension = true;
        p.distinguished_name.push(DnType::CountryName, "FR");
        p.distinguished_name.push(DnType::StateOrProvinceName, "75");
        p.distinguished_name
            .push(DnType::OrganizationName, leaf.organisation.as_str());
        if !leaf.idnat_struct.is_empty() {
            p.distinguished_name
                .push(DnType::OrganizationalUnitName, leaf.idnat_struct.as_str());
        }
        p.distinguished_name
            .push(DnType::CommonName, leaf.application.as_str());
        p.extended_key_usages = vec![leaf.eku.clone()];
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.use_authority_key_identifier_extension = true;
        let now = OffsetDateTime::now_utc();
        (p.not_before, p.not_after) = if leaf.expired {
            (now - Duration::days(400), now - Duration::days(1))
        } else {
            (now - Duration::days(1), now + Duration::days(365))
        };
        let cert = p.signed_by(&key, &self.intermediate).unwrap();
        ClientCert {
            chain_pem: cert.pem() + &self.intermediate.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }
}
