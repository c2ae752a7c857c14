// Entry point of the wizard UI: mounts the app shell into #app.
import { mount } from 'svelte';
import App from './App.svelte';
import { call } from './ipc/client';
import './app.css';

// User Timing marks of the start-up, read by `make bench-page-timeline`
// (tests/bench/page_timeline.mjs): modules evaluated, Welcome mounted, first frame, ready.
performance.mark('octo-oidc:modules');

const target = document.getElementById('app');
if (target === null) throw new Error('index.html lacks the #app element');

const app = mount(App, { target });
performance.mark('octo-oidc:mounted');

// The first screen is drawn: tell the host (the start-up benchmark times this). A frame
// callback runs before the paint, the timeout after it.
requestAnimationFrame(() => {
  performance.mark('octo-oidc:frame');
  setTimeout(() => {
    performance.mark('octo-oidc:ready');
    void call('uiReady');
  }, 0);
});

export default app;
