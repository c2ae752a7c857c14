//! Integration tests of `octo-oidc-http` against real listeners on loopback: the process's
//! shared clients, their trust roots and HTTP/2, and `exchange` as its own task.

mod client;
mod exchange;
