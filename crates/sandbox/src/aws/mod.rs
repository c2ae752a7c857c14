//! aws sandbox service (being built).
