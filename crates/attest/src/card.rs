//! What a CPS card signs to activate an e-CPS (`CompleteCardActivation` in
//! `enrolment_service.proto`): the service rebuilds these bytes from the request, so the
//! card's holder and the service must agree to the byte.

/// A domain label, the professional and the challenge id as sent, each ending with a
/// newline, then the raw challenge. Binding them keeps a signature from being replayed for
/// another professional, challenge or protocol.
pub fn activation_message(id_nat_ps: &str, challenge_id: &str, challenge: &[u8]) -> Vec<u8> {
    let mut m = format!("egide-ecps-card-activation\n{id_nat_ps}\n{challenge_id}\n").into_bytes();
    m.extend_from_slice(challenge);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_pinned_to_the_byte() {
        let m = activation_message(
            "810001045367",
            "0193a5b0-0000-7000-8000-000000000001",
            &[0, 1, 0xff],
        );
        let mut expected =
            b"egide-ecps-card-activation\n810001045367\n0193a5b0-0000-7000-8000-000000000001\n"
                .to_vec();
        expected.extend_from_slice(&[0, 1, 0xff]);
        assert_eq!(m, expected);
    }
}
