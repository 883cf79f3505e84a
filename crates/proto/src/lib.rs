//! Generated code for every Égide protobuf package (`proto/egide/**`).
//!
//! Messages come from prost, clients and servers from tonic. Services turn these types
//! into domain types once, at their API edge; domain code never sees them.
#![forbid(unsafe_code)]
#![allow(missing_docs, clippy::all, clippy::pedantic)]

/// Encoded `FileDescriptorSet` of every Égide proto, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/egide_descriptor.bin"));

/// `egide.common.v1`: the event envelope and shared messages.
pub mod common {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/egide.common.v1.rs"));
    }
}

/// `egide.enrolment.v1`: structures, professionals, patients' wallets.
pub mod enrolment {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/egide.enrolment.v1.rs"));
    }
}

/// `egide.auth.v1`: logins, sessions, tokens.
pub mod auth {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/egide.auth.v1.rs"));
    }
}

/// `egide.certval.v1`: certificate validation.
pub mod certval {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/egide.certval.v1.rs"));
    }
}

/// `egide.audit.v1`: the audit log.
pub mod audit {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/egide.audit.v1.rs"));
    }
}
