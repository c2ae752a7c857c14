//! Architecture invariant: the engine, like the core, depends on no IO crate; effects reach
//! the world only through the core's ports. Checked by `tests/tools/check-core-deps.sh`.

#[path = "../../../../tests/tools/no_io_dependencies.rs"]
mod check;

#[test]
fn engine_has_no_io_dependencies() {
    check::assert_no_io_dependencies("octo-oidc-engine");
}
