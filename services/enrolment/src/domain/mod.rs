//! Domain types: parsed once at the API edge, never prost types.

pub mod structure;
