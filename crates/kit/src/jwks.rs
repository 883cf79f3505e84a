//! JWKs between their wire form (`egide.auth.v1.Jwk`, what auth's `GetJwks` answers) and
//! the verifier's (`egide_token::Jwk`): one mapping for auth, the gateway, the CLI and the
//! tests.

use egide_proto::auth::v1 as pb;
use egide_token::Jwk;

/// The wire form of `k`.
pub fn to_proto(k: &Jwk) -> pb::Jwk {
    pb::Jwk {
        kid: k.kid.clone(),
        kty: k.kty.clone(),
        crv: k.crv.clone(),
        x: k.x.clone(),
        y: k.y.clone(),
        alg: k.alg.clone(),
        r#use: k.use_.clone(),
    }
}

/// The verifier's form of `k` (checked when a `KeySet` is built from it).
pub fn from_proto(k: pb::Jwk) -> Jwk {
    Jwk {
        kty: k.kty,
        crv: k.crv,
        kid: k.kid,
        x: k.x,
        y: k.y,
        alg: k.alg,
        use_: k.r#use,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jwk_round_trips() {
        let k = Jwk {
            kty: "EC".into(),
            crv: "P-256".into(),
            kid: "k-v1".into(),
            x: "x".into(),
            y: "y".into(),
            alg: "ES256".into(),
            use_: "sig".into(),
        };
        assert_eq!(from_proto(to_proto(&k)), k);
    }
}
