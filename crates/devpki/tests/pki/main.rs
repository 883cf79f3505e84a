//! The dev PKI against a real OpenBao (one server for the whole binary, started by
//! egide-testkit; `init` runs once and every test shares its result).

mod cards;
mod credentials;
mod helpers;
mod init;
mod revoke;
