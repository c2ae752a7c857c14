//! octopus sandbox service (being built).
