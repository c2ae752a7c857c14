// Benchmark (not a test): where the wizard page's start-up time goes, in the release window.
// `make bench-page-timeline` runs it under Xvfb against the release app (APP_BIN). Each launch
// opens the app through WebDriver (fresh XDG folders, as benches/startup.py launches it), waits
// until it is ready, and reads the page's own clock: the navigation's HTML received, then the
// User Timing marks ui/src/main.ts sets (modules evaluated, Welcome mounted, first frame, ready).
// It prints the medians and quartiles of each point (ms from navigation start) and of each step
// between them; the figures are printed, not asserted. `benches/startup.py` measures the whole
// launch against a bare window; this splits the page's part of it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openApp } from '../e2e/harness.mjs';
import { median, quantile } from './stats.mjs';

const LAUNCHES = Number(process.env.LAUNCHES ?? 10);
// Each point, and the step that ends there.
const POINTS = [
  ['html', 'HTML received', null],
  ['octo-oidc:modules', 'modules evaluated', 'fetch the JS and CSS, evaluate'],
  ['octo-oidc:mounted', 'Welcome mounted', 'mount the shell and Welcome'],
  ['octo-oidc:frame', 'first frame begins', 'style, layout, up to the frame'],
  ['octo-oidc:ready', 'ready (the frame is drawn)', 'the frame, to the ready call'],
];

const launches = [];
for (let n = 0; n < LAUNCHES; n += 1) {
  const home = mkdtempSync(path.join(tmpdir(), 'octo-oidc-timeline-'));
  for (const name of ['XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_STATE_HOME', 'XDG_CACHE_HOME']) {
    process.env[name] = path.join(home, name.toLowerCase());
  }
  const app = await openApp();
  try {
    const { browser } = app;
    await browser.waitUntil(
      () => browser.execute(() => performance.getEntriesByName('octo-oidc:ready').length > 0),
      { timeout: 20000, timeoutMsg: 'the page never marked itself ready' },
    );
    launches.push(
      await browser.execute(() => {
        const times = { html: performance.getEntriesByType('navigation')[0]?.responseEnd ?? NaN };
        for (const mark of performance.getEntriesByType('mark')) times[mark.name] = mark.startTime;
        return times;
      }),
    );
  } finally {
    await app.close();
    rmSync(home, { recursive: true, force: true });
  }
}

for (const [key] of POINTS) {
  if (launches.some((times) => !Number.isFinite(times[key]))) throw new Error(`a launch lacks "${key}"`);
}
const row = (label, values) =>
  `  ${label.padEnd(40)} ${[median(values), quantile(values, 0.25), quantile(values, 0.75)].map((v) => v.toFixed(0).padStart(8)).join('')}`;
console.log(`the wizard's page, ${LAUNCHES} launches of the release app (ms; the page clock ticks in whole ms)`);
console.log(`  ${'point, from navigation start'.padEnd(40)}   median      q1      q3`);
for (const [key, label] of POINTS) console.log(row(label, launches.map((times) => times[key])));
console.log(`  ${'step'.padEnd(40)}   median      q1      q3`);
for (let i = 1; i < POINTS.length; i += 1) {
  const [from] = POINTS[i - 1];
  const [to, , step] = POINTS[i];
  console.log(row(step, launches.map((times) => times[to] - times[from])));
}
