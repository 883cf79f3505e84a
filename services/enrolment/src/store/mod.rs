//! Persistence: sea-orm entities and the queries the API needs.

pub mod establishments;
pub mod structures;
