//! X.509 certificate validation for IGC-Santé.
#![forbid(unsafe_code)]
