// Benchmark (not a test): one keystroke in the Scope screen's project search, in the real
// desktop window over 10,000 projects (the built-in Sandbox's `large` profile), against the goal
// of < 16 ms per keystroke (one frame at 60 Hz). `make bench-keystroke` runs it under Xvfb
// against the release app (APP_BIN); the figures are printed, not asserted.
//
// It walks Welcome → Sandbox (started with OCTO_OIDC_SANDBOX_PROFILE=large) → Connect AWS →
// Scope through WebDriver, then types a query into the project search inside the page, one
// letter at a time as a typist does (each key after the previous one's frame). A keystroke's
// time is the page's work for it: from the input event to the new rows laid out (the list's
// filter, Svelte's update of the visible rows, style and layout), read as soon as the update's
// microtasks ran. Each measurement is checked: the list must not change any more after it (else
// the update was still running and the figure would be too small).
import { openApp, waitEnabled, waitTitle } from '../e2e/harness.mjs';

const QUERY = 'payment api legacy';
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const GOAL_MS = 16;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

process.env.OCTO_OIDC_SANDBOX_PROFILE = 'large';
const app = await openApp();
try {
  const { browser } = app;
  await browser.$('#target-aws').click();
  // Below the fold on Welcome: into view first, or WebKitWebDriver finds it not interactable.
  await browser.$('#mode-sandbox').scrollIntoView({ block: 'center' });
  await browser.$('#mode-sandbox').click();
  await browser.$('#continue').click();
  await waitTitle(browser, 'The built-in Sandbox');
  await browser.$('#start-sandbox').click();
  await waitEnabled(browser, '#continue', 'the Sandbox did not start and connect', 120000);
  await browser.$('#continue').click();
  await waitTitle(browser, 'Connect AWS');
  await waitEnabled(browser, '#continue', 'the default AWS settings did not validate');
  await browser.$('#continue').click();
  await waitTitle(browser, 'What may use the trust');
  await browser.$('#projects-search').waitForExist({ timeout: 120000, timeoutMsg: 'the space inventory did not load' });
  const count = await browser.$('#projects-count').getText();

  const measured = await browser.execute(
    async (query, rounds) => {
      const input = document.getElementById('projects-search');
      const spacer = document.querySelector('#projects-rows .spacer');
      const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
      const shape = () => `${spacer.style.height} ${spacer.textContent}`;
      let stale = 0;
      const type = async (value) => {
        const started = performance.now();
        input.value = value;
        input.dispatchEvent(new Event('input', { bubbles: true }));
        // Svelte queued its update as a microtask when the input event set the query; this one
        // runs after it.
        await new Promise((resolve) => queueMicrotask(resolve));
        spacer.getBoundingClientRect();
        const took = performance.now() - started;
        const seen = shape();
        await nextFrame();
        if (shape() !== seen) stale += 1;
        return took;
      };
      const perKey = Array.from({ length: query.length }, () => []);
      for (let round = 0; round < rounds; round += 1) {
        await type('');
        await nextFrame();
        for (let length = 1; length <= query.length; length += 1) {
          perKey[length - 1].push(await type(query.slice(0, length)));
        }
      }
      const rows = spacer.querySelectorAll('.row');
      // The spacer is as tall as every match's row; the rendered rows give the row height.
      const matches = rows.length === 0 ? 0 : Math.round(parseFloat(spacer.style.height) / rows[0].offsetHeight);
      await type('');
      return { perKey, stale, rows: rows.length, matches };
    },
    QUERY,
    ROUNDS,
  );

  if (measured.stale > 0) throw new Error(`${measured.stale} measurements ended before the list's update: the figures would be too small`);
  const medians = measured.perKey.map(median);
  const all = measured.perKey.flat();
  const slowest = Math.max(...medians);
  console.log(`Scope, project search (the list: "${count}"), ${ROUNDS} rounds of typing "${QUERY}"`);
  console.log(`after the last letter: ${measured.matches} matches, ${measured.rows} rows in the DOM`);
  console.log('keystroke (typed so far)         median (ms)   max (ms)   (the page clock ticks in whole ms)');
  for (let length = 1; length <= QUERY.length; length += 1) {
    const samples = measured.perKey[length - 1];
    console.log(`  ${JSON.stringify(QUERY.slice(0, length)).padEnd(30)} ${medians[length - 1].toFixed(2).padStart(10)} ${Math.max(...samples).toFixed(2).padStart(10)}`);
  }
  console.log(`slowest keystroke (median) ${slowest.toFixed(2)} ms, slowest of all ${Math.max(...all).toFixed(2)} ms; goal < ${GOAL_MS} ms (one frame at 60 Hz): ${(slowest / GOAL_MS).toFixed(2)}x the budget`);
} finally {
  await app.close();
}
