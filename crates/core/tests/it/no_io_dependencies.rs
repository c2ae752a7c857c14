//! Architecture invariant: the core depends on no IO crate (see `crates/core/Cargo.toml`),
//! checked by `tests/tools/check-core-deps.sh`, the script `make` runs too.

#[path = "../../../../tests/tools/no_io_dependencies.rs"]
mod check;

#[test]
fn core_has_no_io_dependencies() {
    check::assert_no_io_dependencies("octo-oidc-core");
}
