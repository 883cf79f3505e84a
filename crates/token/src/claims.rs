//! The claims Égide puts in its tokens.

use serde::{Deserialize, Serialize};

/// Who a session belongs to (the `egide_category` claim).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A patient; `sub` is the wallet id.
    Patient,
    /// A health professional; `sub` is the idNat_PS.
    Professional,
    /// A structure's local staff member; `sub` is the local account id.
    Staff,
    /// A platform operator; `sub` is the local account id.
    Operator,
}

impl Category {
    /// Every category.
    pub const ALL: [Category; 4] = [
        Category::Patient,
        Category::Professional,
        Category::Staff,
        Category::Operator,
    ];

    /// The claim value: `patient`, `professional`, `staff`, `operator`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Patient => "patient",
            Self::Professional => "professional",
            Self::Staff => "staff",
            Self::Operator => "operator",
        }
    }

    /// The category with this claim value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "patient" => Some(Self::Patient),
            "professional" => Some(Self::Professional),
            "staff" => Some(Self::Staff),
            "operator" => Some(Self::Operator),
            _ => None,
        }
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Sender constraint (RFC 8705 §3.1): the token is good only with this client certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// base64url SHA-256 of the client certificate's DER.
    #[serde(rename = "x5t#S256")]
    pub x5t_s256: String,
}

/// An access token's claims (RFC 9068 §2.2, plus `egide_category`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The issuer URL.
    pub iss: String,
    /// The subject: wallet id, idNat_PS or local account id (see `egide_category`).
    pub sub: String,
    /// The resource the token is for.
    pub aud: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// The token's unique id.
    pub jti: String,
    /// The eIDAS level: `eidas1`, `eidas2` or `eidas3`.
    pub acr: String,
    /// RFC 8176 method values.
    pub amr: Vec<String>,
    /// When the person authenticated.
    pub auth_time: i64,
    /// The session id.
    pub sid: String,
    /// Granted scopes, space-separated.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    /// The subject's category.
    pub egide_category: Category,
    /// Sender constraint, when issued to a client that showed a certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    /// Not before (we never set it; honoured when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// An ID token's claims (OpenID Connect Core §2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdClaims {
    /// The issuer URL.
    pub iss: String,
    /// As in the access token.
    pub sub: String,
    /// The client id.
    pub aud: String,
    /// Expiry.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// When the person authenticated.
    pub auth_time: i64,
    /// The client's nonce, echoed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub nonce: String,
    /// The eIDAS level.
    pub acr: String,
    /// RFC 8176 method values.
    pub amr: Vec<String>,
    /// The session id.
    pub sid: String,
    /// The subject's category.
    pub egide_category: Category,
}
