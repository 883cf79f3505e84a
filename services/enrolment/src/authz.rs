//! Who may act on what, from the verified caller the gateway passes (`egide_kit::caller`),
//! never from what a request declares.

use egide_kit::{
    ApiError,
    caller::{Category, PersonCaller},
};
use uuid::Uuid;

use crate::{devices::Owner, wallets::pb_actor::Who};

/// Who acts on wallet `wallet`: its patient, or an operator.
pub fn wallet_actor(person: Option<&PersonCaller>, wallet: Uuid) -> Result<Who, ApiError> {
    own_wallet(person, wallet)?;
    Ok(match person {
        Some(p) if p.category == Category::Operator => Who::Operator(p.subject.clone()),
        _ => Who::Patient,
    })
}

/// Who acts on a device of `owner`: the owner (a patient's wallet, a professional's
/// e-CPS; `Who::Patient` stands for "the owner"), or an operator.
pub fn device_actor(person: Option<&PersonCaller>, owner: &Owner) -> Result<Who, ApiError> {
    match owner {
        Owner::Wallet(wallet) => wallet_actor(person, *wallet),
        Owner::Professional(id) => match person {
            None => Err(person_required()),
            Some(p) if p.category == Category::Professional && &p.subject == id => Ok(Who::Patient),
            Some(p) if p.category == Category::Operator => Ok(Who::Operator(p.subject.clone())),
            Some(_) => Err(ApiError::permission_denied(
                "not_your_ecps",
                "a professional acts only on their own e-CPS",
            )),
        },
    }
}

fn person_required() -> ApiError {
    ApiError::permission_denied(
        "person_required",
        "this call needs a logged-in person (an access token, through the gateway)",
    )
}

/// A patient acts only on their own wallet; an operator on any.
pub fn own_wallet(person: Option<&PersonCaller>, wallet: Uuid) -> Result<(), ApiError> {
    match person {
        None => Err(person_required()),
        Some(p) if p.category == Category::Patient && p.subject == wallet.to_string() => Ok(()),
        Some(p) if p.category == Category::Operator => Ok(()),
        Some(_) => Err(ApiError::permission_denied(
            "not_your_wallet",
            "a patient acts only on their own wallet",
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn person(category: Category, subject: &str) -> PersonCaller {
        PersonCaller {
            category,
            subject: subject.into(),
            acr: "eidas2".into(),
            amr: vec!["hwk".into(), "mfa".into()],
            session_id: "s".into(),
            client_id: "egide-cli".into(),
            auth_time: 0,
        }
    }

    #[test]
    fn a_patient_reads_their_own_wallet_only() {
        let mine = Uuid::now_v7();
        let theirs = Uuid::now_v7();
        let me = person(Category::Patient, &mine.to_string());
        assert!(own_wallet(Some(&me), mine).is_ok());
        assert_eq!(
            own_wallet(Some(&me), theirs).unwrap_err().reason(),
            "not_your_wallet"
        );
        assert_eq!(
            own_wallet(None, mine).unwrap_err().reason(),
            "person_required"
        );
        let pro = person(Category::Professional, &mine.to_string());
        assert_eq!(
            own_wallet(Some(&pro), mine).unwrap_err().reason(),
            "not_your_wallet"
        );
        assert!(own_wallet(Some(&person(Category::Operator, "op-1")), theirs).is_ok());
    }
}
