//! The trusting side of OIDC: discovery + JWKS fetch and JWT validation (being built).
