//! The Vault wrapper against a real OpenBao: token and AppRole login, transit sign/verify,
//! health while sealed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use egide_kit::{
    config::{VaultAuth, VaultConfig},
    vault::Vault,
};
use secrecy::SecretString;
use vaultrs::client::VaultClient;

fn root(vault: &egide_testkit::Vault) -> VaultClient {
    vault.root_client().unwrap()
}

fn config(vault: &egide_testkit::Vault, auth: VaultAuth) -> VaultConfig {
    VaultConfig {
        addr: vault.addr(),
        auth,
        transit_mount: "transit".into(),
    }
}

/// A transit engine with an ECDSA key, and an AppRole allowed to sign and verify with it.
async fn prepare(vault: &egide_testkit::Vault) -> (String, String) {
    let root = root(vault);
    vaultrs::sys::mount::enable(&root, "transit", "transit", None)
        .await
        .unwrap();
    let mut key = vaultrs::api::transit::requests::CreateKeyRequestBuilder::default();
    key.key_type(vaultrs::api::transit::KeyType::EcdsaP256);
    vaultrs::transit::key::create(&root, "transit", "egide-test", Some(&mut key))
        .await
        .unwrap();
    vaultrs::sys::auth::enable(&root, "approle", "approle", None)
        .await
        .unwrap();
    vaultrs::sys::policy::set(
        &root,
        "signer",
        "path \"transit/sign/egide-test\" { capabilities = [\"update\"] }\n\
         path \"transit/verify/egide-test\" { capabilities = [\"update\"] }\n",
    )
    .await
    .unwrap();
    let mut role = vaultrs::api::auth::approle::requests::SetAppRoleRequestBuilder::default();
    role.token_policies(vec!["signer".into()]).token_ttl("10m");
    vaultrs::auth::approle::role::set(&root, "approle", "signer", Some(&mut role))
        .await
        .unwrap();
    let role_id = vaultrs::auth::approle::role::read_id(&root, "approle", "signer")
        .await
        .unwrap()
        .role_id;
    let secret_id =
        vaultrs::auth::approle::role::secret::generate(&root, "approle", "signer", None)
            .await
            .unwrap()
            .secret_id;
    (role_id, secret_id)
}

#[tokio::test]
async fn approle_login_then_transit_sign_and_verify() {
    let server = egide_testkit::Vault::spawn().expect("OpenBao");
    let (role_id, secret_id) = prepare(&server).await;
    let vault = Vault::new(config(
        &server,
        VaultAuth::Approle {
            mount: "approle".into(),
            role_id,
            secret_id: SecretString::from(secret_id),
        },
    ))
    .unwrap();
    assert!(
        matches!(
            vault.sign("egide-test", b"x").await,
            Err(egide_kit::vault::VaultError::NotLoggedIn)
        ),
        "no signature before login"
    );
    let ttl = vault.login().await.expect("AppRole login");
    assert!(
        ttl.as_secs() > 0 && ttl.as_secs() <= 600,
        "token TTL {ttl:?}"
    );
    assert_eq!(vault.health().await, Ok(()));

    let signature = vault.sign("egide-test", b"checkpoint 42").await.unwrap();
    assert!(signature.starts_with("vault:v1:"), "{signature}");
    assert!(
        vault
            .verify("egide-test", b"checkpoint 42", &signature)
            .await
            .unwrap()
    );
    assert!(
        !vault
            .verify("egide-test", b"checkpoint 43", &signature)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_wrong_token_fails_at_login_and_a_sealed_vault_is_reported() {
    let server = egide_testkit::Vault::spawn().expect("OpenBao");
    let wrong = Vault::new(config(
        &server,
        VaultAuth::Token {
            token: SecretString::from("not-a-token".to_owned()),
        },
    ))
    .unwrap();
    assert!(
        wrong.login().await.is_err(),
        "a wrong static token is refused at login"
    );

    let vault = Vault::new(config(
        &server,
        VaultAuth::Token {
            token: SecretString::from(server.root_token().to_owned()),
        },
    ))
    .unwrap();
    vault.login().await.unwrap();
    assert_eq!(vault.health().await, Ok(()));
    server.seal().unwrap();
    assert_eq!(vault.health().await, Err("vault: sealed".to_owned()));
    server.unseal().unwrap();
    assert_eq!(vault.health().await, Ok(()));
}
