//! Self-signed test CA and server certificates for the HTTPS listeners (being built).
