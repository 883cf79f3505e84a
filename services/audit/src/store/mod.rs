//! Persistence of the log.

pub mod events;

pub use events::{NewRows, advance_producer};
