//! OpenBao: initialised once, unsealed at every start, with the transit keys and one
//! AppRole per service.

use std::{
    collections::BTreeMap,
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use vaultrs::client::{VaultClient, VaultClientSettingsBuilder};

use super::SERVICES;

/// Transit keys: token and audit-checkpoint signing, and the keyed digest enrolment
/// computes over INS identities (transit HMAC works with any key type; an AES key is the
/// plain choice).
const TRANSIT_KEYS: [(&str, vaultrs::api::transit::KeyType); 5] = [
    (
        "egide-token-signing",
        vaultrs::api::transit::KeyType::EcdsaP256,
    ),
    (
        "egide-audit-checkpoint",
        vaultrs::api::transit::KeyType::Ed25519,
    ),
    (
        "egide-ins-digest",
        vaultrs::api::transit::KeyType::Aes256Gcm96,
    ),
    // auth: the pepper passwords are keyed with (HMAC), and the TOTP secrets' seal.
    (
        "egide-password-pepper",
        vaultrs::api::transit::KeyType::Aes256Gcm96,
    ),
    ("egide-totp", vaultrs::api::transit::KeyType::Aes256Gcm96),
];

/// What every service may do with the transit keys: read public keys and verify. Signing
/// is each key's owner's alone (a service that could sign tokens could mint any session).
const COMMON_POLICY: &str = "path \"transit/verify/egide-*\" { capabilities = [\"update\"] }\n\
                             path \"transit/keys/egide-*\" { capabilities = [\"read\"] }\n";

/// What auth may do besides: sign tokens, key passwords with the pepper, seal and open
/// TOTP secrets.
const AUTH_POLICY: &str = "path \"transit/sign/egide-token-signing\" { capabilities = [\"update\"] }\n\
                           path \"transit/hmac/egide-password-pepper\" { capabilities = [\"update\"] }\n\
                           path \"transit/encrypt/egide-totp\" { capabilities = [\"update\"] }\n\
                           path \"transit/decrypt/egide-totp\" { capabilities = [\"update\"] }\n";

/// What audit may do besides: sign its checkpoints.
const AUDIT_POLICY: &str =
    "path \"transit/sign/egide-audit-checkpoint\" { capabilities = [\"update\"] }\n";

/// What enrolment may do besides: the INS digest.
const ENROLMENT_POLICY: &str =
    "path \"transit/hmac/egide-ins-digest\" { capabilities = [\"update\"] }\n";

/// What certval may do besides, on each mount of the dev PKI: read its CA certificates,
/// CRLs and issued certificates, and revoke (RevokeCertificate revokes a dev certificate
/// in its mount so that the CRL and OCSP say so). Listed mount by mount: a policy glob
/// only ends a path, so `pki-test-*/revoke` cannot be written.
fn certval_policy() -> String {
    egide_devpki::mounts()
        .into_iter()
        .map(|m| {
            format!(
                "path \"{m}/revoke\" {{ capabilities = [\"update\"] }}\n\
                 path \"{m}/cert/*\" {{ capabilities = [\"read\"] }}\n\
                 path \"{m}/ca\" {{ capabilities = [\"read\"] }}\n\
                 path \"{m}/ca/pem\" {{ capabilities = [\"read\"] }}\n\
                 path \"{m}/ca_chain\" {{ capabilities = [\"read\"] }}\n\
                 path \"{m}/crl\" {{ capabilities = [\"read\"] }}\n\
                 path \"{m}/crl/pem\" {{ capabilities = [\"read\"] }}\n\
                 path \"{m}/issuer/*\" {{ capabilities = [\"read\"] }}\n"
            )
        })
        .collect()
}

/// Initialises (first run) and unseals Vault, then makes sure the transit engine and keys,
/// the AppRole method and one role per service exist. Returns each service's credentials.
pub async fn bootstrap_vault(
    addr: &str,
    dir: &Path,
) -> anyhow::Result<BTreeMap<String, (String, String)>> {
    let anonymous = vault_client(addr, "")?;
    let init_file = dir.join("init.json");
    wait_vault(&anonymous).await?;
    let (key, root_token) = if init_file.exists() {
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&init_file)?)?;
        (
            v["keys"][0].as_str().context("init.json: keys")?.to_owned(),
            v["root_token"]
                .as_str()
                .context("init.json: root_token")?
                .to_owned(),
        )
    } else {
        let init = vaultrs::sys::start_initialization(&anonymous, 1, 1, None).await?;
        let key = init.keys.first().context("no unseal key returned")?.clone();
        let json = serde_json::json!({ "keys": [key], "root_token": init.root_token });
        egide_gateway::dev_tls::write_private(&init_file, json.to_string().as_bytes())?;
        (key, init.root_token)
    };
    vaultrs::sys::unseal(&anonymous, Some(key), None, None).await?;
    let root = vault_client(addr, &root_token)?;
    // After unsealing, raft elects this node leader before storage is writable: retry the
    // (idempotent) configuration until it goes through.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match configure_vault(&root).await {
            Ok(creds) => return Ok(creds),
            Err(error) if Instant::now() < deadline => {
                report_retry(&error);
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Err(error) => return Err(error.context("configuring openbao")),
        }
    }
}

fn report_retry(error: &anyhow::Error) {
    if std::env::var_os("EGIDE_DEBUG").is_some() {
        eprintln!("  openbao not ready yet: {error:#}");
    }
}

async fn configure_vault(root: &VaultClient) -> anyhow::Result<BTreeMap<String, (String, String)>> {
    let mounts = vaultrs::sys::mount::list(root).await?;
    if !mounts.contains_key("transit/") {
        vaultrs::sys::mount::enable(root, "transit", "transit", None).await?;
    }
    for (key, kind) in TRANSIT_KEYS {
        if vaultrs::transit::key::read(root, "transit", key)
            .await
            .is_err()
        {
            let mut opts = vaultrs::api::transit::requests::CreateKeyRequestBuilder::default();
            opts.key_type(kind);
            vaultrs::transit::key::create(root, "transit", key, Some(&mut opts)).await?;
        }
    }
    let auths = vaultrs::sys::auth::list(root).await?;
    if !auths.contains_key("approle/") {
        vaultrs::sys::auth::enable(root, "approle", "approle", None).await?;
    }
    let mut creds = BTreeMap::new();
    for (service, _) in SERVICES {
        let policy_name = format!("egide-{service}");
        let policy = match service {
            "enrolment" => format!("{COMMON_POLICY}{ENROLMENT_POLICY}"),
            "certval" => format!("{COMMON_POLICY}{}", certval_policy()),
            "auth" => format!("{COMMON_POLICY}{AUTH_POLICY}"),
            "audit" => format!("{COMMON_POLICY}{AUDIT_POLICY}"),
            _ => COMMON_POLICY.to_owned(),
        };
        vaultrs::sys::policy::set(root, &policy_name, &policy).await?;
        let mut role = vaultrs::api::auth::approle::requests::SetAppRoleRequestBuilder::default();
        role.token_policies(vec![policy_name.clone()])
            .token_ttl("1h")
            .token_max_ttl("24h")
            .secret_id_ttl("0");
        vaultrs::auth::approle::role::set(root, "approle", &policy_name, Some(&mut role)).await?;
        let role_id = vaultrs::auth::approle::role::read_id(root, "approle", &policy_name)
            .await?
            .role_id;
        let secret_id =
            vaultrs::auth::approle::role::secret::generate(root, "approle", &policy_name, None)
                .await?
                .secret_id;
        creds.insert(service.to_owned(), (role_id, secret_id));
    }
    Ok(creds)
}

async fn wait_vault(client: &VaultClient) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        // Any HTTP answer (200, 501 uninitialised, 503 sealed) means the server is up.
        match vaultrs::sys::status(client).await {
            Ok(vaultrs::sys::ServerStatus::UNKNOWN) | Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(vaultrs::sys::ServerStatus::UNKNOWN) | Err(_) => bail!("openbao does not answer"),
            Ok(_) => return Ok(()),
        }
    }
}

/// A vaultrs client for `addr` with `token` (empty: anonymous), 30 s per request.
pub(crate) fn vault_client(addr: &str, token: &str) -> anyhow::Result<VaultClient> {
    Ok(VaultClient::new(
        VaultClientSettingsBuilder::default()
            .address(addr)
            .token(token)
            .timeout(Some(Duration::from_secs(30)))
            .build()?,
    )?)
}
