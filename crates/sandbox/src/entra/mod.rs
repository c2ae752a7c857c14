//! entra sandbox service (being built).
