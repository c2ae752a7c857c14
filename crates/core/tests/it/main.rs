//! The core crate's integration tests: one binary, one module per area.
#![allow(clippy::unwrap_used)]

mod gcp;
mod no_io_dependencies;
mod properties;
mod scope;
mod specs;
mod subjects;
