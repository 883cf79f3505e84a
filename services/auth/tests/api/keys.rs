//! The signing key: in Vault only, published as a JWKS, rotated without breaking tokens.

use std::time::Duration;

use egide_proto::auth::v1 as pb;

use crate::helpers::spawn_app_with;

#[tokio::test]
async fn a_rotation_signs_new_tokens_with_the_new_version_and_keeps_the_old_key_published() {
    let key = format!("egide-token-signing-{}", uuid::Uuid::now_v7().simple());
    let app = spawn_app_with(|c| {
        c.tokens.signing_key = key.clone();
        c.tokens.key_refresh_secs = 1;
    })
    .await;
    let p = app.enrolled_patient().await;
    let before = app.login(&p, "").await.unwrap();
    let kid_of = |token: &str| egide_token::decode_header(token).unwrap().kid;
    assert_eq!(kid_of(&before.access_token), format!("{key}-v1"));
    let vault = egide_testkit::shared().vault.root_client().unwrap();
    vaultrs::transit::key::rotate(&vault, "transit", &key)
        .await
        .unwrap();
    let after = egide_testkit::eventually(Duration::from_secs(10), "a token of v2", || async {
        let t = app
            .refresh(&app.login(&p, "").await.ok()?.refresh_token)
            .await
            .ok()?;
        (kid_of(&t.access_token) == format!("{key}-v2")).then_some(t)
    })
    .await;
    let jwks = app
        .client
        .clone()
        .get_jwks(pb::GetJwksRequest {})
        .await
        .unwrap()
        .into_inner();
    let kids: Vec<_> = jwks.keys.iter().map(|k| k.kid.clone()).collect();
    assert_eq!(kids, [format!("{key}-v2"), format!("{key}-v1")]);
    // Both verify against the published set.
    app.verify(&before.access_token).await;
    app.verify(&after.access_token).await;
}

#[tokio::test]
async fn the_jwks_holds_only_public_p256_keys() {
    let app = spawn_app_with(|_| {}).await;
    let jwks = app
        .client
        .clone()
        .get_jwks(pb::GetJwksRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(!jwks.keys.is_empty());
    for k in &jwks.keys {
        assert_eq!(
            (
                k.kty.as_str(),
                k.crv.as_str(),
                k.alg.as_str(),
                k.r#use.as_str()
            ),
            ("EC", "P-256", "ES256", "sig")
        );
        assert_eq!((k.x.len(), k.y.len()), (43, 43));
    }
}
