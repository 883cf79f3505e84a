//! Password hashing and strength.
//!
//! A password is first keyed through Vault (transit HMAC under `egide-password-pepper`,
//! which never leaves Vault), then hashed with Argon2id (OWASP's parameters by default:
//! 19 MiB, 2 passes, 1 lane). A dump of the database alone cannot be brute-forced: every
//! guess needs Vault. The stored value is the PHC string of the Argon2id hash of the HMAC.

use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString},
};
use secrecy::{ExposeSecret as _, SecretString};

use crate::config::AccountSettings;

/// Argon2id with the configured parameters.
pub fn argon2(settings: &AccountSettings) -> Result<Argon2<'static>, argon2::Error> {
    let params = Params::new(
        settings.argon2_memory_kib,
        settings.argon2_iterations,
        settings.argon2_parallelism,
        None,
    )?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The PHC string for `keyed` (the peppered password).
pub fn hash(
    argon: &Argon2<'_>,
    keyed: &SecretString,
) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| argon2::password_hash::Error::Crypto)?;
    let salt = SaltString::encode_b64(&salt)?;
    Ok(argon
        .hash_password(keyed.expose_secret().as_bytes(), &salt)?
        .to_string())
}

/// Whether `keyed` matches `phc`. A malformed stored hash never matches.
pub fn verify(argon: &Argon2<'_>, keyed: &SecretString, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        argon
            .verify_password(keyed.expose_secret().as_bytes(), &h)
            .is_ok()
    })
}

/// Why a new password is refused.
#[derive(Debug, PartialEq)]
pub struct Weak {
    /// The estimate, in bits.
    pub bits: f64,
    /// What the estimator suggests (no part of the password).
    pub advice: String,
}

/// At least `min_bits` by zxcvbn's guess estimate, which knows the common and breached
/// passwords (its frequency lists come from leaked password corpora), dictionary words,
/// names, keyboard patterns, dates and repetitions; `context` (login, display name) counts
/// as known to an attacker.
pub fn strong_enough(password: &str, context: &[&str], min_bits: f64) -> Result<f64, Weak> {
    if password.chars().count() > 256 {
        return Err(Weak {
            bits: 0.0,
            advice: "at most 256 characters".into(),
        });
    }
    let estimate = zxcvbn::zxcvbn(password, context);
    let bits = estimate.guesses_log10() * std::f64::consts::LOG2_10;
    if bits >= min_bits {
        return Ok(bits);
    }
    let advice = estimate
        .feedback()
        .map(|f| {
            let mut parts: Vec<String> = f.warning().map(|w| w.to_string()).into_iter().collect();
            parts.extend(f.suggestions().iter().map(ToString::to_string));
            parts.join(" ")
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "use a longer passphrase of unrelated words".into());
    Err(Weak { bits, advice })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn common_and_short_passwords_fall_short_of_50_bits_and_passphrases_pass() {
        for weak in [
            "password",
            "Password1!",
            "azerty123",
            "P@ssw0rd2024",
            "jeanne.dupont",
            "12345678",
        ] {
            assert!(
                strong_enough(weak, &["jeanne.dupont"], 50.0).is_err(),
                "{weak}"
            );
        }
        // Character classes alone do not make a password strong.
        assert!(strong_enough("Aa1!Aa1!", &[], 50.0).is_err());
        for strong in ["correct horse battery staple orbit", "vG7#qLz9!mW2@xR4"] {
            let bits = strong_enough(strong, &[], 50.0).expect(strong);
            assert!(bits >= 50.0);
        }
        assert!(strong_enough(&"x".repeat(300), &[], 50.0).is_err());
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let settings = AccountSettings {
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            ..AccountSettings::default()
        };
        let argon = argon2(&settings).unwrap();
        let keyed = SecretString::from("00ff");
        let phc = hash(&argon, &keyed).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(verify(&argon, &keyed, &phc));
        assert!(!verify(&argon, &SecretString::from("00fe"), &phc));
        assert!(!verify(&argon, &keyed, "not a hash"));
    }
}
