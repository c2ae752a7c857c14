//! Until the integration tests move into `tests/it/`: the judge's tests as their own binary.
#![allow(clippy::unwrap_used)]

#[path = "it/differential.rs"]
mod differential;
#[path = "it/judge_independence.rs"]
mod judge_independence;
