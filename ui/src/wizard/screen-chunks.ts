// The screens after Welcome, each in its own chunk, loaded the first time it is shown: the
// window's first frame needs only the shell and the Welcome screen (the start-up benchmark,
// `make bench-startup`, times exactly that). A chunk is requested once; its promise is kept, so
// showing a screen again renders it at once. Rollup puts what several screens share (the
// pickers, the run-progress list) in shared chunks of their own.
import { tick } from 'svelte';

const loaders = {
  'connect-octopus': () => import('./connect-octopus/ConnectOctopusScreen.svelte'),
  'sandbox-intro': () => import('./sandbox-intro/SandboxIntroScreen.svelte'),
  'connect-cloud': () => import('./connect-cloud/ConnectCloudScreen.svelte'),
  scope: () => import('./scope/ScopeScreen.svelte'),
  'trust-preview': () => import('./trust-preview/TrustPreviewScreen.svelte'),
  'review-plan': () => import('./review-plan/ReviewPlanScreen.svelte'),
  apply: () => import('./apply/ApplyScreen.svelte'),
  verify: () => import('./verify/VerifyScreen.svelte'),
  done: () => import('./done/DoneScreen.svelte'),
  'account-flow': () => import('./verify-account/AccountFlowScreens.svelte'),
} as const;

/** A screen that lives in a chunk of its own. */
export type ChunkedScreen = keyof typeof loaders;

const loaded = new Map<ChunkedScreen, Promise<unknown>>();

/** The module of `screen` (its component is `default`), requested on the first call only. */
export function screenChunk<K extends ChunkedScreen>(screen: K): ReturnType<(typeof loaders)[K]> {
  let chunk = loaded.get(screen);
  if (chunk === undefined) {
    chunk = loaders[screen]();
    // A failed request is not kept: showing the screen again asks again.
    chunk.catch(() => loaded.delete(screen));
    loaded.set(screen, chunk);
  }
  return chunk as ReturnType<(typeof loaders)[K]>;
}

/** How long a screen's chunk may take to appear before the focus is left where it is. */
const FOCUS_WAIT_MS = 5000;

/** Moves the focus to the new screen's title (`#screen-title`) once it is rendered: at once when
 *  its chunk is already loaded, else as soon as the chunk's screen is in the document. */
export async function focusScreenTitle(): Promise<void> {
  await tick();
  const title = document.getElementById('screen-title');
  if (title !== null) {
    title.focus();
    return;
  }
  await new Promise<void>((resolve) => {
    const observer = new MutationObserver(() => {
      const shown = document.getElementById('screen-title');
      if (shown === null) return;
      stop();
      shown.focus();
    });
    const timer = setTimeout(() => stop(), FOCUS_WAIT_MS);
    function stop(): void {
      observer.disconnect();
      clearTimeout(timer);
      resolve();
    }
    observer.observe(document.body, { childList: true, subtree: true });
  });
}
