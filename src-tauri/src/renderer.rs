//! How WebKitGTK paints the wizard: on the CPU, without its DMA-BUF renderer, unless the user
//! chose otherwise.
//!
//! Two defaults of WebKitGTK cost the wizard start-up time or memory and buy a window of forms
//! and text nothing (README, "Benchmarks"):
//!
//! - **GPU painting.** WebKitGTK 2.46 and later rasterize with Skia on the GPU. On machines
//!   without a GPU driver (VMs, remote desktops, CI, where Mesa's llvmpipe stands in) every
//!   shader program is compiled with LLVM on first use, ~1 s of CPU and ~40 MiB in the web
//!   process at start-up. `WEBKIT_SKIA_ENABLE_CPU_RENDERING=1` paints with Skia on the CPU.
//! - **The DMA-BUF renderer.** WebKitGTK 2.42 and later hand each frame from the web process to
//!   the window as DMA-BUF buffers. Measured on such a machine, the first frame then comes
//!   300–550 ms after navigation start in some launches instead of ~100 ms, and the processes
//!   hold a fifth more memory. `WEBKIT_DISABLE_DMABUF_RENDERER=1` turns it off (the E2E suite
//!   photographs the window from the X server, because WebKitWebDriver's screenshot never
//!   returns in this mode).
//!
//! WebKit reads both variables once, when it starts its web process, so they must be in the
//! environment before the window exists: the binary's `main` applies [`webkit_environment`]
//! first thing, while it is the only thread. A value the user set is kept, each variable on its
//! own: `WEBKIT_SKIA_ENABLE_CPU_RENDERING=0` gives GPU painting back, and
//! `WEBKIT_DISABLE_DMABUF_RENDERER=0` the DMA-BUF renderer. Processes the app starts inherit
//! the variables (the browser opened for the Azure sign-in, the Azure CLI); only WebKit reads
//! them, so a WebKit-based browser would paint the same way.

use std::ffi::OsString;

/// WebKit's switch between CPU and GPU painting (any value but `0` means CPU).
pub const CPU_RENDERING_ENV: &str = "WEBKIT_SKIA_ENABLE_CPU_RENDERING";

/// WebKit's switch that turns its DMA-BUF renderer off (any value but `0` means off).
pub const DMABUF_RENDERER_OFF_ENV: &str = "WEBKIT_DISABLE_DMABUF_RENDERER";

/// The app's choice for each variable, in the order they are set.
const DEFAULTS: [(&str, &str); 2] = [(CPU_RENDERING_ENV, "1"), (DMABUF_RENDERER_OFF_ENV, "1")];

/// The variables to set before WebKit starts, given how the environment reads today
/// (`lookup` is `std::env::var_os` in the app): each of the app's defaults the user did not set.
pub fn webkit_environment(
    lookup: impl Fn(&'static str) -> Option<OsString>,
) -> Vec<(&'static str, &'static str)> {
    DEFAULTS
        .into_iter()
        .filter(|(name, _)| lookup(name).is_none())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The environment to set when the user's environment holds exactly `set`.
    fn environment_with(set: &[(&str, &str)]) -> Vec<(&'static str, &'static str)> {
        webkit_environment(|name| {
            assert!(
                DEFAULTS.iter().any(|(known, _)| *known == name),
                "asked for {name}"
            );
            set.iter()
                .find(|(set_name, _)| *set_name == name)
                .map(|(_, value)| OsString::from(value))
        })
    }

    #[test]
    fn cpu_painting_without_the_dmabuf_renderer_when_the_user_did_not_choose() {
        assert_eq!(
            environment_with(&[]),
            [(CPU_RENDERING_ENV, "1"), (DMABUF_RENDERER_OFF_ENV, "1")]
        );
    }

    #[test]
    fn the_users_choice_is_kept_for_each_variable_on_its_own() {
        for value in ["0", "1", ""] {
            // Set but empty is still the user's choice (WebKit reads it as set).
            assert_eq!(
                environment_with(&[(CPU_RENDERING_ENV, value)]),
                [(DMABUF_RENDERER_OFF_ENV, "1")]
            );
            assert_eq!(
                environment_with(&[(DMABUF_RENDERER_OFF_ENV, value)]),
                [(CPU_RENDERING_ENV, "1")]
            );
        }
        assert!(
            environment_with(&[(CPU_RENDERING_ENV, "0"), (DMABUF_RENDERER_OFF_ENV, "0")])
                .is_empty()
        );
    }
}
