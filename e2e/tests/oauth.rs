//! The gateway's OAuth 2.0 / OpenID Connect endpoints, driven by a standard HTTP client
//! (reqwest over rustls) that knows only the issuer URL, the gateway's CA and its own
//! structure certificate: discovery, the published JWKS verifying an access token, the
//! refresh grant with `tls_client_auth`, userinfo, revocation, and their RFC error bodies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use egide_e2e::{
    Options, Platform, Service,
    platform::{FIRST_OPERATOR, FIRST_OPERATOR_PASSWORD},
};
use egide_proto::auth::v1::{PasswordLoginRequest, auth_service_client::AuthServiceClient};
use serde_json::Value;

/// An HTTP client trusting the gateway's CA, showing `identity` (PEM key + chain) if any.
fn http_client(ca: &[u8], identity: Option<Vec<u8>>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca).unwrap()])
        .timeout(Duration::from_secs(10));
    if let Some(pem) = identity {
        builder = builder.identity(reqwest::Identity::from_pem(&pem).unwrap());
    }
    builder.build().unwrap()
}

async fn json(response: reqwest::Response) -> (u16, Value, reqwest::header::HeaderMap) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        headers,
    )
}

async fn post_form(
    client: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> (u16, Value, reqwest::header::HeaderMap) {
    let body = form
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    json(
        client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// application/x-www-form-urlencoded escaping (tokens are base64url and dots; ids ASCII).
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_standard_client_discovers_refreshes_reads_userinfo_and_revokes() {
    let platform = Platform::start(Options {
        services: vec![Service::Certval, Service::Auth],
        gateway: true,
        ..Options::default()
    })
    .await
    .unwrap();
    let issuer = format!(
        "https://localhost:{}",
        platform.port(Service::Gateway).unwrap()
    );
    let ca = std::fs::read(platform.dir().join("tls/ca.pem")).unwrap();
    let client_dir = &platform.pki().unwrap().client;
    let identity = [
        std::fs::read(client_dir.join("key.pem")).unwrap(),
        std::fs::read(client_dir.join("cert.pem")).unwrap(),
        std::fs::read(client_dir.join("chain.pem")).unwrap_or_default(),
    ]
    .concat();
    let software = http_client(&ca, Some(identity));
    let stranger = http_client(&ca, None);

    // Discovery: everything else is found from the issuer.
    let (code, meta, _) = json(
        software
            .get(format!("{issuer}/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(meta["issuer"], issuer.as_str());
    let endpoint = |name: &str| meta[name].as_str().unwrap().to_owned();
    let (token_url, userinfo_url, revoke_url) = (
        endpoint("token_endpoint"),
        endpoint("userinfo_endpoint"),
        endpoint("revocation_endpoint"),
    );
    assert_eq!(
        meta["token_endpoint_auth_methods_supported"][0],
        "tls_client_auth"
    );
    let (code, jwks, _) = json(software.get(endpoint("jwks_uri")).send().await.unwrap()).await;
    assert_eq!(code, 200);

    // A session (password alone: enough for tokens, not for protected routes), opened
    // through the gateway with the same certificate: its tokens are bound to it.
    let mut auth = AuthServiceClient::new(platform.api_channel(Service::Auth).unwrap());
    let login = auth
        .password_login(PasswordLoginRequest {
            client_id: "egide-cli".into(),
            scope: "openid".into(),
            login: FIRST_OPERATOR.into(),
            password: FIRST_OPERATOR_PASSWORD.into(),
            second_factor: String::new(),
        })
        .await
        .unwrap()
        .into_inner();

    // The published JWKS verifies the access token.
    let keys: Vec<egide_token::Jwk> = serde_json::from_value(jwks["keys"].clone()).unwrap();
    let set = egide_token::KeySet::new(&keys).unwrap();
    let expect = egide_token::Expectations {
        issuer: issuer.clone(),
        audience: "egide".into(),
        leeway_secs: 30,
    };
    let claims = egide_token::verify_access(
        &login.access_token,
        &set,
        &expect,
        chrono::Utc::now().timestamp(),
    )
    .unwrap();
    assert!(claims.cnf.is_some(), "bound to the structure certificate");

    // The refresh grant, client authenticated by its certificate.
    let (code, refreshed, headers) = post_form(
        &software,
        &token_url,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &login.refresh_token),
            ("client_id", "egide-cli"),
        ],
    )
    .await;
    assert_eq!(code, 200, "{refreshed}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(refreshed["token_type"], "Bearer");
    let access = refreshed["access_token"].as_str().unwrap().to_owned();
    let refresh = refreshed["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(refresh, login.refresh_token, "rotated");
    assert!(
        refreshed["id_token"].is_string(),
        "openid scope: an ID token"
    );

    // What a client gets wrong, each with its RFC 6749 §5.2 code.
    for (form, status, error) in [
        (
            vec![("grant_type", "password"), ("client_id", "egide-cli")],
            400,
            "unsupported_grant_type",
        ),
        (
            vec![("grant_type", "refresh_token"), ("client_id", "egide-cli")],
            400,
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", "egrt_nope"),
                ("client_id", "egide-cli"),
            ],
            400,
            "invalid_grant",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
                ("client_id", "another-client"),
            ],
            400,
            "invalid_grant",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("grant_type", "refresh_token"),
                ("client_id", "egide-cli"),
            ],
            400,
            "invalid_request",
        ),
    ] {
        let (code, body, _) = post_form(&software, &token_url, &form).await;
        assert_eq!(
            (code, body["error"].as_str()),
            (status, Some(error)),
            "{form:?}: {body}"
        );
    }
    // No certificate: the client is not authenticated.
    let (code, body, _) = post_form(
        &stranger,
        &token_url,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", "egide-cli"),
        ],
    )
    .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    // Userinfo (RFC 6750 bearer), bound token with its certificate.
    let (code, info, _) = json(
        software
            .get(&userinfo_url)
            .bearer_auth(&access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(code, 200, "{info}");
    assert_eq!(info["sub"], claims.sub.as_str());
    assert_eq!(info["egide_category"], "operator");
    let (code, _, headers) = json(software.get(&userinfo_url).send().await.unwrap()).await;
    assert_eq!(code, 401);
    assert_eq!(headers["www-authenticate"], "Bearer");
    // The bound token without its certificate is refused.
    let (code, _, headers) = json(
        stranger
            .get(&userinfo_url)
            .bearer_auth(&access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(code, 401);
    assert_eq!(
        headers["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );

    // Revocation (RFC 7009): an unknown token is no error; the access token ends its
    // session, whose refresh token then fails and whose access token is refused.
    let (code, _, _) = post_form(
        &software,
        &revoke_url,
        &[("token", "nothing-of-ours"), ("client_id", "egide-cli")],
    )
    .await;
    assert_eq!(code, 200);
    let (code, _, _) = post_form(
        &software,
        &revoke_url,
        &[
            ("token", &access),
            ("token_type_hint", "access_token"),
            ("client_id", "egide-cli"),
        ],
    )
    .await;
    assert_eq!(code, 200);
    let (code, body, _) = post_form(
        &software,
        &token_url,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", "egide-cli"),
        ],
    )
    .await;
    assert_eq!((code, body["error"].as_str()), (400, Some("invalid_grant")));
    let revoked_at = Instant::now();
    loop {
        let (code, _, _) = json(
            software
                .get(&userinfo_url)
                .bearer_auth(&access)
                .send()
                .await
                .unwrap(),
        )
        .await;
        if code == 401 {
            break;
        }
        assert!(
            revoked_at.elapsed() < Duration::from_secs(2),
            "the revoked token still reads userinfo"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
