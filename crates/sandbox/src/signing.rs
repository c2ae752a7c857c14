//! The local OIDC issuers' signing keys, JWKS documents and token minting (being built).
