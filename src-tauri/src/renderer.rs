//! How WebKitGTK paints the wizard: on the CPU, unless the user chose otherwise.
//!
//! WebKitGTK 2.46 and later rasterize with Skia on the GPU by default. For a window of forms
//! and text that buys nothing and costs a GPU context: on machines without a GPU driver (VMs,
//! remote desktops, CI, where Mesa's llvmpipe stands in) every shader program is compiled with
//! LLVM on first use, ~1 s of CPU and ~40 MiB in the web process at start-up (README,
//! "Benchmarks"). With `WEBKIT_SKIA_ENABLE_CPU_RENDERING=1` WebKit paints with Skia on the CPU
//! and still composites as before. WebKit reads the variable once, when it starts its web
//! process, so it must be in the environment before the window exists: the binary's `main`
//! applies [`webkit_environment`] first thing, while it is the only thread.
//!
//! A value the user set is kept: `WEBKIT_SKIA_ENABLE_CPU_RENDERING=0` gives GPU painting back.
//! Processes the app starts inherit the variable (the browser opened for the Azure sign-in, the
//! Azure CLI); only WebKit reads it, so a WebKit-based browser would paint on the CPU too.

use std::ffi::OsString;

/// WebKit's switch between CPU and GPU painting (any value but `0` means CPU).
pub const CPU_RENDERING_ENV: &str = "WEBKIT_SKIA_ENABLE_CPU_RENDERING";

/// The variables to set before WebKit starts, given how the environment reads today
/// (`lookup` is `std::env::var_os` in the app): CPU painting, unless the user already chose.
pub fn webkit_environment(
    lookup: impl Fn(&'static str) -> Option<OsString>,
) -> Vec<(&'static str, &'static str)> {
    if lookup(CPU_RENDERING_ENV).is_some() {
        Vec::new()
    } else {
        vec![(CPU_RENDERING_ENV, "1")]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment_with(value: Option<&str>) -> Vec<(&'static str, &'static str)> {
        webkit_environment(|name| {
            assert_eq!(name, CPU_RENDERING_ENV);
            value.map(OsString::from)
        })
    }

    #[test]
    fn cpu_painting_is_chosen_when_the_user_did_not_choose() {
        assert_eq!(environment_with(None), [(CPU_RENDERING_ENV, "1")]);
    }

    #[test]
    fn the_users_choice_is_kept_either_way() {
        assert!(environment_with(Some("0")).is_empty());
        assert!(environment_with(Some("1")).is_empty());
        // Set but empty is still the user's choice (WebKit reads it as CPU painting).
        assert!(environment_with(Some("")).is_empty());
    }
}
