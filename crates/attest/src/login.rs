//! What a phone app's device key or a CPS card signs to log in (`CompleteLogin` in
//! `auth_service.proto`, docs/auth.md): auth rebuilds these bytes from what it issued,
//! so the signer and the service must agree to the byte.

/// The first line of [`login_message`].
pub const LOGIN_CONTEXT: &str = "egide-login/v1";

/// `egide-login/v1`, the means (`device` or `card`), the owner (`wallet:<id>` or
/// `ps:<idNat_PS>`), the credential (the device id, or the card certificate's SHA-256),
/// the client id and the challenge id, each ending with a newline, then the 32 raw
/// challenge bytes. None of the fields can hold a newline (auth issues or validates them
/// all), so the encoding is unambiguous; binding them keeps a signature from opening a
/// session for another owner, device, client or protocol.
pub fn login_message(
    means: &str,
    owner: &str,
    credential: &str,
    client_id: &str,
    challenge_id: &str,
    challenge: &[u8],
) -> Vec<u8> {
    let mut m = Vec::with_capacity(
        LOGIN_CONTEXT.len()
            + means.len()
            + owner.len()
            + credential.len()
            + client_id.len()
            + challenge_id.len()
            + 6
            + challenge.len(),
    );
    for part in [
        LOGIN_CONTEXT,
        means,
        owner,
        credential,
        client_id,
        challenge_id,
    ] {
        m.extend_from_slice(part.as_bytes());
        m.push(b'\n');
    }
    m.extend_from_slice(challenge);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_pinned_to_the_byte() {
        let m = login_message(
            "device",
            "wallet:0193a5b0-0000-7000-8000-000000000001",
            "0193a5b0-0000-7000-8000-000000000002",
            "egide-cli",
            "0193a5b0-0000-7000-8000-000000000003",
            &[0, 1, 0xff],
        );
        let mut expected = b"egide-login/v1\ndevice\nwallet:0193a5b0-0000-7000-8000-000000000001\n\
0193a5b0-0000-7000-8000-000000000002\negide-cli\n0193a5b0-0000-7000-8000-000000000003\n"
            .to_vec();
        expected.extend_from_slice(&[0, 1, 0xff]);
        assert_eq!(m, expected);
    }
}
