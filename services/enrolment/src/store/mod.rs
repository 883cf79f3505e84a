//! Persistence: sea-orm entities and the queries the API needs.

pub mod structures;
pub mod establishments;
