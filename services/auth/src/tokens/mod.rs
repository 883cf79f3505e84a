//! Access and ID tokens: claims built here, signatures made in Vault.

pub mod keys;
pub mod signer;

use chrono::{DateTime, Utc};
use egide_kit::ApiError;
use egide_token::{
    ACCESS_TOKEN_TYP, AccessClaims, Category, Confirmation, Header, ID_TOKEN_TYP, IdClaims,
};
use uuid::Uuid;

use crate::config::TokenSettings;
use keys::Keys;
use signer::{SignError, Signer};

/// What the tokens of a session say about it.
#[derive(Clone, Debug)]
pub struct Grant {
    pub session_id: Uuid,
    pub category: Category,
    pub subject: String,
    pub client_id: String,
    pub scope: String,
    pub acr: String,
    pub amr: Vec<String>,
    pub auth_time: DateTime<Utc>,
    /// base64url SHA-256 of the client certificate the tokens are bound to.
    pub cnf_x5t: Option<String>,
    /// For the ID token.
    pub nonce: String,
}

/// Signed tokens.
#[derive(Clone, Debug)]
pub struct Issued {
    pub access_token: String,
    pub id_token: Option<String>,
    pub expires_in: u32,
}

/// Builds and signs tokens.
#[derive(Clone, Debug)]
pub struct Issuer {
    settings: TokenSettings,
    keys: Keys,
    signer: Signer,
}

impl Issuer {
    pub fn new(settings: TokenSettings, keys: Keys, signer: Signer) -> Self {
        Self {
            settings,
            keys,
            signer,
        }
    }

    /// The keys (for the JWKS).
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// An access token for `grant` (and an ID token when its scope has `openid`), signed
    /// with the current key version. UNAVAILABLE while Vault is away or the key unknown.
    pub async fn issue(&self, grant: &Grant) -> Result<Issued, ApiError> {
        let state = self.keys.current().ok_or_else(|| {
            ApiError::unavailable(anyhow::anyhow!("token signing key not read yet"))
        })?;
        let now = Utc::now().timestamp();
        let ttl = self.settings.access_ttl_secs;
        let access = AccessClaims {
            iss: self.settings.issuer.clone(),
            sub: grant.subject.clone(),
            aud: self.settings.audience.clone(),
            client_id: grant.client_id.clone(),
            exp: now + ttl as i64,
            iat: now,
            jti: Uuid::now_v7().to_string(),
            acr: grant.acr.clone(),
            amr: grant.amr.clone(),
            auth_time: grant.auth_time.timestamp(),
            sid: grant.session_id.to_string(),
            scope: grant.scope.clone(),
            egide_category: grant.category,
            cnf: grant
                .cnf_x5t
                .clone()
                .map(|x5t_s256| Confirmation { x5t_s256 }),
            nbf: None,
        };
        let access_header = Header::new(ACCESS_TOKEN_TYP, &state.kid);
        let access = self.sign(&access_header, &access, state.version);
        let wants_id = grant.scope.split(' ').any(|s| s == "openid");
        let id = async {
            if !wants_id {
                return Ok(None);
            }
            let claims = IdClaims {
                iss: self.settings.issuer.clone(),
                sub: grant.subject.clone(),
                aud: grant.client_id.clone(),
                exp: now + self.settings.id_ttl_secs as i64,
                iat: now,
                auth_time: grant.auth_time.timestamp(),
                nonce: grant.nonce.clone(),
                acr: grant.acr.clone(),
                amr: grant.amr.clone(),
                sid: grant.session_id.to_string(),
                egide_category: grant.category,
            };
            self.sign(
                &Header::new(ID_TOKEN_TYP, &state.kid),
                &claims,
                state.version,
            )
            .await
            .map(Some)
        };
        let (access_token, id_token) = tokio::try_join!(access, id)?;
        Ok(Issued {
            access_token,
            id_token,
            expires_in: u32::try_from(ttl).unwrap_or(u32::MAX),
        })
    }

    async fn sign<C: serde::Serialize>(
        &self,
        header: &Header,
        claims: &C,
        version: u64,
    ) -> Result<String, ApiError> {
        let input = egide_token::signing_input(header, claims).map_err(ApiError::internal)?;
        match self.signer.sign(input.clone(), version).await {
            Ok(signature) => Ok(egide_token::assemble(&input, &signature)),
            Err(SignError::Vault(error)) => Err(ApiError::unavailable(anyhow::anyhow!(
                "signing a token: {error}"
            ))),
            Err(SignError::Stopped) => Err(ApiError::unavailable(anyhow::anyhow!(
                "token signer stopped"
            ))),
        }
    }
}
