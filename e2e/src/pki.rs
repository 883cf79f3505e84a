//! The dev PKI of a platform: built in its Vault, trusted by its certval, and a
//! structure certificate for its clients (the gateway requires one).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use egide_certval::dev::DevTrust;
use egide_devpki::{Credential, Family, KeyKind, StructureRequest};
use egide_testkit::Vault;
use vaultrs::client::VaultClient;

/// The idNat_Struct of the platform's own client certificate.
pub const CLIENT_IDNAT_STRUCT: &str = "1010003374";

/// Files of a platform's dev PKI.
pub struct DevPkiFiles {
    /// certval's configuration file (trust, purposes' dev policies, mounts).
    pub certval_config: PathBuf,
    /// The directory of the platform clients' structure certificate.
    pub client: PathBuf,
    dir: PathBuf,
    /// A root-token client of the platform's Vault.
    vault: VaultClient,
}

impl std::fmt::Debug for DevPkiFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevPkiFiles")
            .field("certval_config", &self.certval_config)
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl DevPkiFiles {
    /// Builds (or finds) the dev PKI in `vault` and writes the files under `dir/pki`.
    pub async fn set_up(vault: &Vault, dir: &Path) -> anyhow::Result<Self> {
        let dir = dir.join("pki");
        let files = Self {
            certval_config: dir.join("certval.toml"),
            client: dir.join("client"),
            dir,
            vault: vault.root_client()?,
        };
        let pki = egide_devpki::init(&files.vault, &vault.addr())
            .await
            .context("dev PKI")?;
        let trust = DevTrust::write(&pki, &files.dir.join("trust"))?;
        std::fs::write(&files.certval_config, trust.toml())?;
        files
            .issue_structure("egide-e2e")
            .await?
            .write(&files.client)?;
        Ok(files)
    }

    /// A new ORG AUTH_CLI certificate of the ELEMENTAIRE family for `application`.
    pub async fn issue_structure(&self, application: &str) -> anyhow::Result<Credential> {
        Ok(egide_devpki::issue_structure(
            &self.vault,
            &StructureRequest {
                family: Family::Elementaire,
                idnat_struct: CLIENT_IDNAT_STRUCT.parse()?,
                organisation: "CENTRE HOSPITALIER E2E".into(),
                departement: "35".into(),
                application: application.into(),
                key: KeyKind::P256,
                ttl: None,
            },
        )
        .await?)
    }

    /// A soft CPS card (FORT family, P-256) for `idnat` in `dir`, under `pin`.
    pub async fn issue_card(
        &self,
        dir: &Path,
        idnat: &str,
        pin: &str,
    ) -> anyhow::Result<egide_devpki::SoftCard> {
        let request = egide_devpki::CardRequest {
            family: Family::Fort,
            holder: egide_devpki::Professional {
                idnat: egide_ids::IdNatPs::parse(idnat)?,
                name: "DUPONT".into(),
                given_name: "JEANNE".into(),
                profession: "Médecin".into(),
            },
            key: KeyKind::P256,
            ttl: None,
        };
        Ok(egide_devpki::issue_card(
            &self.vault,
            dir,
            &request,
            &secrecy::SecretString::from(pin),
        )
        .await?)
    }

    /// Issues a certificate for `application` and writes it to its own directory.
    pub async fn issue_structure_files(
        &self,
        application: &str,
    ) -> anyhow::Result<(Credential, PathBuf)> {
        let credential = self.issue_structure(application).await?;
        let dir = self.dir.join(format!("client-{application}"));
        credential.write(&dir)?;
        Ok((credential, dir))
    }
}
