//! The enrolment service's configuration: the shared [`ServiceConfig`] plus its own
//! settings (`EGIDE_ENROLMENT__WALLET__MAX_DEVICES=…`, or `[wallet]` in the TOML file).

use std::time::Duration;

use egide_kit::config::ServiceConfig;
use serde::{Deserialize, Serialize};

/// Everything the enrolment service reads at start-up.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EnrolmentConfig {
    /// What every service shares.
    #[serde(flatten)]
    pub service: ServiceConfig,
    /// Reference directory imports.
    #[serde(default)]
    pub directory: DirectorySettings,
    /// Patients' wallets.
    #[serde(default)]
    pub wallet: WalletSettings,
    /// One-time codes (e-mail and SMS).
    #[serde(default)]
    pub codes: CodeSettings,
    /// Identity proofing.
    #[serde(default)]
    pub proofing: ProofingSettings,
    /// Outgoing mail and SMS.
    #[serde(default)]
    pub mail: MailSettings,
    /// The certificate validation service (e-CPS activation with a CPS card).
    #[serde(default)]
    pub certval: CertvalSettings,
}

impl AsRef<ServiceConfig> for EnrolmentConfig {
    fn as_ref(&self) -> &ServiceConfig {
        &self.service
    }
}

impl EnrolmentConfig {
    /// Defaults around `service`.
    pub fn new(service: ServiceConfig) -> Self {
        Self {
            service,
            directory: DirectorySettings::default(),
            wallet: WalletSettings::default(),
            codes: CodeSettings::default(),
            proofing: ProofingSettings::default(),
            mail: MailSettings::default(),
            certval: CertvalSettings::default(),
        }
    }
}

/// Directory imports.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DirectorySettings {
    /// An import may deactivate at most this share of the active entries of its source
    /// unless the operator insists (a truncated file must not empty the directory).
    pub max_deactivation_ratio: f64,
    /// RPPS numbers starting with one of these prefixes are accepted without a valid check
    /// key (ANS's fictitious test numbers fail it). Empty in production.
    pub rpps_test_prefixes: Vec<String>,
}

impl Default for DirectorySettings {
    fn default() -> Self {
        Self {
            max_deactivation_ratio: 0.05,
            rpps_test_prefixes: Vec::new(),
        }
    }
}

/// Patients' wallets.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WalletSettings {
    /// A wallet not active this long after it started expires.
    pub pending_ttl_secs: u64,
    /// Live devices per wallet or e-CPS.
    pub max_devices: u32,
    /// Failed starts allowed per NIR within `failed_start_window_secs`.
    pub max_failed_starts: u32,
    /// The throttling window.
    pub failed_start_window_secs: u64,
    /// How long a device challenge nonce lives.
    pub device_challenge_ttl_secs: u64,
}

impl Default for WalletSettings {
    fn default() -> Self {
        Self {
            pending_ttl_secs: 3600,
            max_devices: 3,
            max_failed_starts: 5,
            failed_start_window_secs: 24 * 3600,
            device_challenge_ttl_secs: 300,
        }
    }
}

impl WalletSettings {
    /// The pending lifetime.
    pub fn pending_ttl(&self) -> Duration {
        Duration::from_secs(self.pending_ttl_secs)
    }
}

/// One-time codes.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CodeSettings {
    /// Digits per code.
    pub digits: u32,
    /// Lifetime.
    pub ttl_secs: u64,
    /// Wrong entries before the code dies.
    pub max_attempts: u32,
    /// Codes sent per owner and purpose (first one included).
    pub max_sends: u32,
}

impl Default for CodeSettings {
    fn default() -> Self {
        Self {
            digits: 6,
            ttl_secs: 600,
            max_attempts: 5,
            max_sends: 3,
        }
    }
}

/// Identity proofing.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProofingSettings {
    /// The audience attestations must name.
    pub audience: String,
    /// Attestations older than this are stale.
    pub max_age_secs: u64,
    /// Clock skew tolerated for `iat` in the future.
    pub max_skew_secs: u64,
    /// The lowest level accepted: "substantial" or "high".
    pub min_level: String,
    /// Proofing evidence is purged this long after it was received (R161-33-18: within
    /// 3 months; biometrics never reach Égide).
    pub evidence_retention_days: u32,
    /// How often the retention job runs.
    pub purge_every_secs: u64,
    /// Trusted providers.
    pub providers: Vec<ProviderSettings>,
}

impl Default for ProofingSettings {
    fn default() -> Self {
        Self {
            audience: "egide-enrolment".into(),
            max_age_secs: 300,
            max_skew_secs: 60,
            min_level: "substantial".into(),
            evidence_retention_days: 90,
            purge_every_secs: 3600,
            providers: Vec::new(),
        }
    }
}

/// A trusted identity-proofing provider key.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    /// Its issuer (`iss`).
    pub issuer: String,
    /// The key id (`kid`).
    pub kid: String,
    /// SubjectPublicKeyInfo PEM, inline or read from `public_key_file`.
    #[serde(default)]
    pub public_key_pem: String,
    /// A file holding the PEM.
    #[serde(default)]
    pub public_key_file: String,
}

/// Outgoing mail and SMS.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSettings {
    /// SMTP relay, `smtp://host:port` (plain, for a local relay) or `smtps://host:port`.
    pub smtp_url: String,
    /// The From address.
    pub from: String,
    /// SMS leave through an e-mail-to-SMS gateway: `<phone digits>@<this domain>`.
    pub sms_gateway_domain: String,
    /// Delivery attempts before a message is given up.
    pub max_attempts: u32,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            smtp_url: "smtp://127.0.0.1:2525".into(),
            from: "Égide <no-reply@egide.test>".into(),
            sms_gateway_domain: "sms.egide.test".into(),
            max_attempts: 10,
        }
    }
}

/// The certificate validation service.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CertvalSettings {
    /// Its gRPC endpoint, `http://host:port`. Connected on first use, so enrolment starts
    /// without it; card activations answer UNAVAILABLE while it is away.
    pub endpoint: String,
    /// Deadline of one call, connection included.
    pub timeout_ms: u64,
}

impl Default for CertvalSettings {
    fn default() -> Self {
        Self {
            endpoint: "http://127.0.0.1:50063".into(),
            timeout_ms: 5000,
        }
    }
}

impl CertvalSettings {
    /// The deadline of one call.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.max(1))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]
mod tests {
    use super::*;

    /// Loads through the kit's loader with `toml` as the `EGIDE_CONFIG` file.
    fn load(toml: &str) -> Result<EnrolmentConfig, Box<figment::Error>> {
        let mut result = None;
        figment::Jail::expect_with(|jail| {
            jail.create_file("enrolment.toml", toml)?;
            jail.set_env("EGIDE_CONFIG", "enrolment.toml");
            result = Some(egide_kit::config::load_flattened(
                "enrolment",
                &EnrolmentConfig::new(ServiceConfig::local_defaults(1)),
            ));
            Ok(())
        });
        result.unwrap()
    }

    #[test]
    fn settings_load_beside_the_shared_ones() {
        let c = load(
            "[wallet]\nmax_devices = 5\n[grpc]\nlisten = \"127.0.0.1:9\"\n\
             [[proofing.providers]]\nissuer = \"https://p\"\nkid = \"k\"\npublic_key_pem = \"x\"\n",
        )
        .unwrap();
        assert_eq!(c.wallet.max_devices, 5);
        assert_eq!(c.service.grpc.listen.port(), 9);
        assert_eq!(c.proofing.providers.len(), 1);
        assert_eq!(
            c.certval.endpoint, "http://127.0.0.1:50063",
            "the local certval"
        );
        let c = load("[certval]\nendpoint = \"http://certval:50051\"\ntimeout_ms = 200\n").unwrap();
        assert_eq!(
            (c.certval.endpoint.as_str(), c.certval.timeout()),
            ("http://certval:50051", Duration::from_millis(200))
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_their_path() {
        assert!(
            load("[wallet]\nmax_device = 5\n").is_err(),
            "typo in a section"
        );
        assert!(
            load("[grpc]\nlistn = \"x\"\n").is_err(),
            "typo in a shared section"
        );
        assert!(load("colour = 1\n").is_err(), "unknown top-level key");
    }
}
