//! Issuing a soft card: two key pairs generated here, their certificates from the
//! family's PERSONNES CA, the keys sealed under the PIN.

use std::{path::Path, time::Duration};

use secrecy::SecretString;
use vaultrs::client::Client;

use super::{
    AUTH_FILE, CHAIN_FILE, CardAlgorithm, CardError, CardState, FORMAT, MAX_RETRIES, SIGN_FILE,
    STATE_FILE, Slot, SoftCard, aad, check_pin_format, save_state,
    seal::{self, Kdf},
};
use crate::{
    Error, Family, KeyKind, Profile, files,
    issue::{self, Professional},
    keys::LocalKey,
    pem,
};

/// What a card is issued for.
#[derive(Clone, Debug)]
pub struct CardRequest {
    /// The family whose PERSONNES CA issues both certificates.
    pub family: Family,
    /// The holder, as the certificates name them.
    pub holder: Professional,
    /// RSA-2048 (CPS3/CPS4 cards) or P-256.
    pub key: KeyKind,
    /// Validity; the roles' (3 years) when `None`.
    pub ttl: Option<Duration>,
}

/// Issues a soft card into `dir` (created; it must not already hold a card), protected
/// by `pin` (4 to 8 digits).
pub async fn issue_card(
    vault: &impl Client,
    dir: &Path,
    request: &CardRequest,
    pin: &SecretString,
) -> Result<SoftCard, Error> {
    check_pin_format(pin)?;
    if dir.join(STATE_FILE).exists() {
        return Err(Error::Invalid(format!(
            "{} already holds a card",
            dir.display()
        )));
    }
    let subject = request.holder.subject();
    let auth_key = LocalKey::generate(request.key)?;
    let sign_key = LocalKey::generate(request.key)?;
    let auth = issue::sign(
        vault,
        request.family,
        Profile::PsAuth,
        &subject,
        &[],
        &auth_key,
        request.ttl,
    )
    .await?;
    let sign = issue::sign(
        vault,
        request.family,
        Profile::PsSign,
        &subject,
        &[],
        &sign_key,
        request.ttl,
    )
    .await?;
    let mut chain = auth.intermediates.clone();
    chain.push(auth.root.clone());
    write_card(
        dir,
        &request.holder.idnat.to_string(),
        &auth_key,
        &sign_key,
        &auth.certificate,
        &sign.certificate,
        &chain,
        pin,
    )?;
    Ok(SoftCard::open(dir)?)
}

/// Writes a card's files. `chain` is the issuing CA first, root last.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_card(
    dir: &Path,
    idnat: &str,
    auth_key: &LocalKey,
    sign_key: &LocalKey,
    auth_cert: &[u8],
    sign_cert: &[u8],
    chain: &[Vec<u8>],
    pin: &SecretString,
) -> Result<(), CardError> {
    std::fs::create_dir_all(dir).map_err(|source| CardError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let kdf = Kdf::new()?;
    let key = kdf.derive(pin)?;
    let auth_key_sealed = seal::seal(
        &key,
        &aad(idnat, Slot::Auth),
        &auth_key.pkcs8().map_err(|_| CardError::Crypto("PKCS#8"))?,
    )?;
    let sign_key_sealed = seal::seal(
        &key,
        &aad(idnat, Slot::Sign),
        &sign_key.pkcs8().map_err(|_| CardError::Crypto("PKCS#8"))?,
    )?;
    let public = |name: &str, text: String| {
        let path = dir.join(name);
        files::write_public(&path, text.as_bytes()).map_err(|source| CardError::Io { path, source })
    };
    public(AUTH_FILE, pem::encode("CERTIFICATE", auth_cert))?;
    public(SIGN_FILE, pem::encode("CERTIFICATE", sign_cert))?;
    public(CHAIN_FILE, issue::chain_pem(chain))?;
    // The state last: a directory without card.json is not a card yet.
    save_state(
        dir,
        &CardState {
            format: FORMAT.into(),
            idnat: idnat.to_owned(),
            algorithm: CardAlgorithm::of(auth_key.kind()),
            retries_left: MAX_RETRIES,
            kdf,
            auth_key: auth_key_sealed,
            sign_key: sign_key_sealed,
        },
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use chrono::Utc;

    use super::*;
    use crate::{
        DistinguishedName,
        template::{CaTemplate, self_issued},
    };

    /// A parseable stand-in certificate (the real ones come from Vault, in tests/).
    fn stand_in(key: &LocalKey) -> Vec<u8> {
        let spki = key.spki().unwrap();
        let facts_bits = {
            use x509_parser::prelude::*;
            let (_, info) = SubjectPublicKeyInfo::from_der(&spki).unwrap();
            info.subject_public_key.data.to_vec()
        };
        let name = DistinguishedName::ca("FR", "X", &[], "stand-in");
        let pem_text = self_issued(&CaTemplate {
            subject: &name,
            spki: &spki,
            public_key_bits: &facts_bits,
            not_before: Utc::now(),
            not_after: Utc::now() + chrono::Duration::days(1),
            path_len: None,
            policies: &[],
        })
        .unwrap();
        pem::decode_one(&pem_text, "CERTIFICATE").unwrap()
    }

    #[test]
    fn three_wrong_pins_block_and_a_right_one_resets() {
        let dir = tempfile::tempdir().unwrap();
        let auth = LocalKey::generate(KeyKind::P256).unwrap();
        let sign = LocalKey::generate(KeyKind::P256).unwrap();
        let cert = stand_in(&auth);
        let pin = SecretString::from("1234");
        let wrong = SecretString::from("0000");
        write_card(
            dir.path(),
            "899700218896",
            &auth,
            &sign,
            &cert,
            &stand_in(&sign),
            std::slice::from_ref(&cert),
            &pin,
        )
        .unwrap();
        let mut card = SoftCard::open(dir.path()).unwrap();
        assert_eq!(card.idnat(), "899700218896");
        assert_eq!(card.algorithm(), CardAlgorithm::EcdsaP256Sha256);
        assert!(card.chain().is_empty());
        assert!(card.root_certificate().is_some());

        assert!(matches!(
            card.authenticate(&wrong, b"c"),
            Err(CardError::WrongPin { retries_left: 2 })
        ));
        card.authenticate(&pin, b"c").unwrap();
        assert_eq!(card.retries_left(), 3);
        for left in [2, 1, 0] {
            assert!(matches!(
                card.sign(&wrong, b"m"),
                Err(CardError::WrongPin { retries_left }) if retries_left == left
            ));
        }
        assert!(card.is_blocked());
        assert!(matches!(
            card.authenticate(&pin, b"c"),
            Err(CardError::Blocked)
        ));
        // Persisted: a reopened card is still blocked.
        let mut again = SoftCard::open(dir.path()).unwrap();
        assert!(again.is_blocked());
        assert!(matches!(again.sign(&pin, b"m"), Err(CardError::Blocked)));
        // A malformed PIN is refused before it counts.
        assert!(matches!(
            again.sign(&SecretString::from("12"), b"m"),
            Err(CardError::PinFormat)
        ));
    }
}
