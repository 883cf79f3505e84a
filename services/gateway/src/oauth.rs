//! The OAuth 2.0 and OpenID Connect HTTP endpoints, on the TLS listener beside gRPC (a
//! request that is not `application/grpc` comes here), so that a standard client finds and
//! uses Égide with nothing of ours:
//!
//! - `GET /.well-known/openid-configuration` (OIDC Discovery 1.0) and
//!   `/.well-known/oauth-authorization-server` (RFC 8414): the same metadata;
//! - `GET /.well-known/jwks.json` (RFC 7517): the keys tokens are verified with;
//! - `POST /oauth2/token` (RFC 6749 §6, `grant_type=refresh_token`): the client
//!   authenticates with its structure certificate (RFC 8705 `tls_client_auth`), which
//!   certval validates as for gRPC; the new tokens stay bound to it;
//! - `GET|POST /oauth2/userinfo` (OIDC Core §5.3, RFC 6750 bearer in the header only);
//! - `POST /oauth2/revoke` (RFC 7009): a refresh token or an access token ends its session.
//!
//! Errors are RFC 6749 §5.2 JSON bodies (`invalid_request`, `invalid_client`,
//! `invalid_grant`, `unsupported_grant_type`, …) and RFC 6750 §3 `WWW-Authenticate`
//! challenges; token answers are `Cache-Control: no-store`. The authorization endpoint
//! (code + PKCE) and the CIBA grant are the next issue's.

use std::{collections::BTreeMap, net::IpAddr, sync::Arc};

use axum::{
    Extension, Json,
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    response::{IntoResponse, Response},
    routing::get,
};
use egide_proto::auth::v1::{
    EndSessionRequest, RefreshSessionRequest, TokenResponse, auth_service_client::AuthServiceClient,
};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::json;
use tonic::{Code, metadata::MetadataMap};

use crate::{bearer::person_of, client_auth::peer::PeerChain, proxy::Router};

/// What the connection tells about the caller: its certificate chain and address.
#[derive(Clone, Debug)]
pub struct Peer {
    /// The chain shown at the handshake, if any.
    pub chain: Option<Arc<PeerChain>>,
    /// The client's address.
    pub ip: IpAddr,
}

/// Forms are small: a refresh token and a client id.
const MAX_FORM: usize = 16 * 1024;

/// The endpoints, over the gateway's router (its client authentication, its token
/// checks, its backends).
pub fn router(gateway: Arc<Router>) -> axum::Router {
    axum::Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/.well-known/oauth-authorization-server", get(discovery))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/oauth2/token", axum::routing::post(token))
        .route("/oauth2/userinfo", get(userinfo).post(userinfo))
        .route("/oauth2/revoke", axum::routing::post(revoke))
        .fallback(|| async {
            OAuthError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
        })
        .layer(DefaultBodyLimit::max(MAX_FORM))
        .with_state(gateway)
}

/// The provider metadata (OIDC Discovery 1.0 §3, RFC 8414 §2).
pub fn metadata(issuer: &str) -> serde_json::Value {
    let issuer = issuer.trim_end_matches('/');
    json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "token_endpoint": format!("{issuer}/oauth2/token"),
        "userinfo_endpoint": format!("{issuer}/oauth2/userinfo"),
        "revocation_endpoint": format!("{issuer}/oauth2/revoke"),
        // No authorization endpoint yet: logins are the gRPC means (device key, CPS
        // card, password + TOTP); the web login page comes with the next issue.
        "response_types_supported": [],
        "grant_types_supported": ["refresh_token"],
        "subject_types_supported": ["public"],
        "scopes_supported": ["openid"],
        "claims_supported": ["sub", "acr", "amr", "auth_time", "egide_category"],
        "acr_values_supported": ["eidas1", "eidas2", "eidas3"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "userinfo_signing_alg_values_supported": [],
        "token_endpoint_auth_methods_supported": ["tls_client_auth"],
        "revocation_endpoint_auth_methods_supported": ["tls_client_auth"],
        "tls_client_certificate_bound_access_tokens": true,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
    })
}

async fn discovery(State(gateway): State<Arc<Router>>) -> Response {
    let mut response = Json(metadata(gateway.bearer.issuer())).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

async fn jwks(State(gateway): State<Arc<Router>>) -> Response {
    match gateway.bearer.jwks.keys() {
        Some(keys) => {
            let mut r = (
                [(header::CONTENT_TYPE, "application/jwk-set+json")],
                json!({ "keys": keys.1 }).to_string(),
            )
                .into_response();
            // Short: a rotation must reach verifiers well within a retired key's grace.
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=60"),
            );
            r
        }
        None => OAuthError::unavailable().into_response(),
    }
}

/// `POST /oauth2/token`: `grant_type=refresh_token`, `refresh_token`, `client_id`.
async fn token(
    State(gateway): State<Arc<Router>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let form = Form::parse(&headers, &body)?;
    let client_id = form.required("client_id")?;
    let metadata = authenticated_client(&gateway, &peer, "/oauth2/token").await?;
    let grant_type = form.required("grant_type")?;
    if grant_type != "refresh_token" {
        return Err(OAuthError::bad(
            "unsupported_grant_type",
            "the grant types are: refresh_token",
        ));
    }
    let refresh_token = form.required("refresh_token")?;
    let mut request = tonic::Request::new(RefreshSessionRequest {
        refresh_token: refresh_token.to_owned(),
        client_id: client_id.to_owned(),
    });
    *request.metadata_mut() = metadata;
    let tokens = auth(&gateway)?
        .refresh_session(request)
        .await
        .map_err(|status| match status.code() {
            Code::Unauthenticated | Code::PermissionDenied | Code::NotFound => OAuthError::bad(
                "invalid_grant",
                "the refresh token is invalid, spent, expired or not this client's",
            ),
            Code::InvalidArgument => OAuthError::bad("invalid_request", "malformed refresh token"),
            _ => OAuthError::from_backend(&status),
        })?
        .into_inner();
    Ok(no_store(Json(token_body(&tokens)).into_response()))
}

/// The RFC 6749 §5.1 answer.
fn token_body(t: &TokenResponse) -> serde_json::Value {
    let mut body = json!({
        "access_token": t.access_token,
        "token_type": t.token_type,
        "expires_in": t.expires_in,
        "refresh_token": t.refresh_token,
    });
    if !t.id_token.is_empty() {
        body["id_token"] = json!(t.id_token);
    }
    if !t.scope.is_empty() {
        body["scope"] = json!(t.scope);
    }
    body
}

/// `GET|POST /oauth2/userinfo`: the claims of the token's person.
async fn userinfo(
    State(gateway): State<Arc<Router>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
) -> Result<Response, OAuthError> {
    let claims = gateway
        .bearer
        .verified(
            &headers,
            peer.chain.as_ref().map(|c| c.leaf_sha256_hex.as_str()),
        )
        .await
        .map_err(|status| bearer_refusal(&status))?;
    if !claims.scope.split(' ').any(|s| s == "openid") {
        return Err(OAuthError::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the access token was not granted the openid scope",
        )
        .challenge("Bearer error=\"insufficient_scope\", scope=\"openid\""));
    }
    Ok(no_store(
        Json(json!({
            "sub": claims.sub,
            "egide_category": claims.egide_category.as_str(),
            "acr": claims.acr,
            "amr": claims.amr,
            "auth_time": claims.auth_time,
        }))
        .into_response(),
    ))
}

/// RFC 6750 §3: a missing token gets a bare challenge, a bad one `invalid_token`.
fn bearer_refusal(status: &tonic::Status) -> OAuthError {
    let reason = egide_kit::error::decode(status).0.unwrap_or_default();
    match (status.code(), reason.as_str()) {
        (Code::Unavailable, _) => OAuthError::unavailable(),
        (_, "token_missing") => OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request",
            "an access token is required (authorization: Bearer …)",
        )
        .challenge("Bearer"),
        _ => OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is invalid, expired or revoked",
        )
        .challenge("Bearer error=\"invalid_token\""),
    }
}

/// `POST /oauth2/revoke`: `token`, optional `token_type_hint`, `client_id`. An unknown or
/// invalid token is not an error (RFC 7009 §2.2).
async fn revoke(
    State(gateway): State<Arc<Router>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let form = Form::parse(&headers, &body)?;
    let client_id = form.required("client_id")?;
    let mut metadata = authenticated_client(&gateway, &peer, "/oauth2/revoke").await?;
    let token = form.required("token")?;
    let hint = form.optional("token_type_hint").unwrap_or_default();
    let looks_like_jwt = token.bytes().filter(|b| *b == b'.').count() == 2;
    let request = if hint == "access_token" || (hint != "refresh_token" && looks_like_jwt) {
        let mut bearer = HeaderMap::new();
        let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}")) else {
            return Ok(no_store(StatusCode::OK.into_response()));
        };
        bearer.insert(header::AUTHORIZATION, value);
        let peer_hash = peer.chain.as_ref().map(|c| c.leaf_sha256_hex.as_str());
        let Ok(claims) = gateway.bearer.verified(&bearer, peer_hash).await else {
            return Ok(no_store(StatusCode::OK.into_response()));
        };
        // The session is the verified person's own: say so the way only we can.
        for (name, value) in person_of(claims).headers() {
            if let Ok(value) = value.parse() {
                metadata.insert(name, value);
            }
        }
        EndSessionRequest {
            refresh_token: String::new(),
            client_id: client_id.to_owned(),
        }
    } else {
        EndSessionRequest {
            refresh_token: token.to_owned(),
            client_id: client_id.to_owned(),
        }
    };
    let mut request = tonic::Request::new(request);
    *request.metadata_mut() = metadata;
    match auth(&gateway)?.end_session(request).await {
        Ok(_) => Ok(no_store(StatusCode::OK.into_response())),
        Err(status) => match status.code() {
            Code::PermissionDenied => Err(OAuthError::bad(
                "unauthorized_client",
                "this token was issued to another client",
            )),
            // A malformed token is an invalid one: nothing to revoke.
            Code::InvalidArgument => Ok(no_store(StatusCode::OK.into_response())),
            _ => Err(OAuthError::from_backend(&status)),
        },
    }
}

/// Authenticates the client by its structure certificate (RFC 8705 §2.1) and spends one request of its budget for
/// `route`; the metadata carry the structure and the client's address for the backend.
async fn authenticated_client(
    gateway: &Router,
    peer: &Peer,
    route: &str,
) -> Result<MetadataMap, OAuthError> {
    let mut headers = HeaderMap::new();
    gateway
        .auth
        .authenticate_client(peer.chain.as_deref(), &mut headers)
        .await
        .map_err(|status| match status.code() {
            Code::Unavailable => OAuthError::unavailable(),
            _ => OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication failed: present a valid structure certificate (tls_client_auth)",
            ),
        })?;
    if let Ok(ip) = HeaderValue::from_str(&peer.ip.to_string()) {
        headers.insert(egide_kit::caller::CLIENT_IP, ip);
    }
    let metadata = MetadataMap::from_headers(headers);
    gateway
        .rate_limit(route, metadata.as_ref())
        .map_err(|status| OAuthError::from_backend(&status))?;
    Ok(metadata)
}

fn auth(gateway: &Router) -> Result<AuthServiceClient<tonic::transport::Channel>, OAuthError> {
    gateway
        .backend("auth")
        .map(AuthServiceClient::new)
        .ok_or_else(OAuthError::unavailable)
}

fn no_store(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// An `application/x-www-form-urlencoded` body (RFC 6749 §3.2: no parameter twice).
struct Form(BTreeMap<String, String>);

impl Form {
    fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, OAuthError> {
        let form_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form_type {
            return Err(OAuthError::bad(
                "invalid_request",
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|_| OAuthError::bad("invalid_request", "malformed form body"))?;
        let mut map = BTreeMap::new();
        for (name, value) in pairs {
            if map.insert(name, value).is_some() {
                return Err(OAuthError::bad(
                    "invalid_request",
                    "a parameter is repeated",
                ));
            }
        }
        Ok(Self(map))
    }

    fn optional(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn required(&self, name: &'static str) -> Result<&str, OAuthError> {
        self.optional(name).ok_or_else(|| OAuthError {
            description: format!("the parameter {name} is required"),
            ..OAuthError::bad("invalid_request", "")
        })
    }
}

/// An RFC 6749 §5.2 error answer.
#[derive(Debug)]
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    challenge: Option<&'static str>,
    retry_after: Option<u64>,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: &str) -> Self {
        Self {
            status,
            error,
            description: description.to_owned(),
            challenge: None,
            retry_after: None,
        }
    }

    fn bad(error: &'static str, description: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, description)
    }

    fn unavailable() -> Self {
        Self {
            retry_after: Some(1),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "try again shortly",
            )
        }
    }

    fn challenge(mut self, value: &'static str) -> Self {
        self.challenge = Some(value);
        self
    }

    /// A backend failure that is not the client's: its retry delay kept.
    fn from_backend(status: &tonic::Status) -> Self {
        match status.code() {
            Code::ResourceExhausted => Self {
                retry_after: egide_kit::error::retry_after(status).map(|d| d.as_secs().max(1)),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "slow_down",
                    "too many requests; wait before retrying",
                )
            },
            Code::Unavailable | Code::DeadlineExceeded => Self::unavailable(),
            code => {
                tracing::warn!(?code, "OAuth endpoint: unexpected answer from auth");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "internal error",
                )
            }
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({ "error": self.error, "error_description": self.description })),
        )
            .into_response();
        let h = response.headers_mut();
        if let Some(challenge) = self.challenge {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            h.insert(header::RETRY_AFTER, v);
        }
        no_store(response)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn form_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
        );
        h
    }

    #[test]
    fn forms_refuse_repeats_and_other_types() {
        let f = Form::parse(&form_headers(), b"grant_type=refresh_token&client_id=a%20b").unwrap();
        assert_eq!(f.required("client_id").unwrap(), "a b");
        assert_eq!(
            f.required("refresh_token").unwrap_err().error,
            "invalid_request"
        );
        assert!(Form::parse(&form_headers(), b"a=1&a=2").is_err());
        // Decoding is WHATWG's, lenient: a stray `%` or bad UTF-8 is kept, never a panic.
        let odd = Form::parse(&form_headers(), b"%zz=1&b=%FF").unwrap();
        assert_eq!(odd.required("%zz").unwrap(), "1");
        assert!(Form::parse(&HeaderMap::new(), b"a=1").is_err());
    }

    #[test]
    fn metadata_names_every_endpoint_under_the_issuer() {
        let m = metadata("https://egide.example/");
        assert_eq!(m["issuer"], "https://egide.example");
        for (key, path) in [
            ("jwks_uri", "/.well-known/jwks.json"),
            ("token_endpoint", "/oauth2/token"),
            ("userinfo_endpoint", "/oauth2/userinfo"),
            ("revocation_endpoint", "/oauth2/revoke"),
        ] {
            assert_eq!(m[key], format!("https://egide.example{path}"));
        }
        assert_eq!(
            m["token_endpoint_auth_methods_supported"],
            json!(["tls_client_auth"])
        );
        assert_eq!(m["id_token_signing_alg_values_supported"], json!(["ES256"]));
    }
}
