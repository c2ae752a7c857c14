// End-to-end tests of the real desktop window: the first screen, its choices, and the next
// screens, driven through WebDriver. Screenshots go to target/e2e-screenshots/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { openApp, screenshot } from './harness.mjs';

describe('the wizard window', () => {
  let app;
  let browser;

  before(async () => {
    app = await openApp();
    browser = app.browser;
  });

  after(async () => {
    await app?.close();
  });

  it('opens titled "Octopus OIDC Wizard" with the product styles applied', async () => {
    // The native window's title (tauri.conf.json), as the X server knows it...
    const windows = execFileSync('xwininfo', ['-root', '-tree'], { encoding: 'utf8' });
    assert.match(windows, /"Octopus OIDC Wizard"/, 'no X window titled "Octopus OIDC Wizard"');
    // ...and the page's.
    assert.equal(await browser.getTitle(), 'Octopus OIDC Wizard');
    const name = await browser.$('.product-name');
    await name.waitForDisplayed({ timeout: 10000 });
    assert.equal(await name.getText(), 'Octopus OIDC Wizard');
    // The stylesheet loaded under the strict CSP: the primary colour reaches the computed style.
    const accent = await browser.execute(() =>
      getComputedStyle(document.documentElement).getPropertyValue('--accent').trim(),
    );
    assert.equal(accent, '#1f6feb');
  });

  it('offers Azure, AWS and GitHub Actions → Octopus, and real or Sandbox', async () => {
    assert.equal(await browser.$('#screen-title').getText(), 'What do you want to set up?');
    const titles = [];
    for (const id of ['azure', 'aws', 'github']) {
      const card = await browser.$(`#target-${id}`);
      assert.ok(await card.isDisplayed(), `#target-${id} is shown`);
      titles.push(await card.$('.title').getText());
    }
    assert.deepEqual(titles, ['Azure', 'AWS', 'GitHub Actions']);
    assert.match(await browser.$('#target-github').getText(), /GitHub Actions → Octopus/);
    assert.ok(await browser.$('#mode-real').isDisplayed());
    assert.ok(await browser.$('#mode-sandbox').isDisplayed());
    assert.equal(await browser.$('#continue').isEnabled(), false, 'Continue waits for a choice');
  });

  it('shows the app version from the desktop app over IPC', async () => {
    const version = await browser.$('#app-version');
    await version.waitUntil(async () => /^Version \d+\.\d+\.\d+/.test(await version.getText()), {
      timeout: 10000,
      timeoutMsg: 'the app_info command did not answer',
    });
  });

  it('grants the window the app\'s commands only, no core plugin', async (t) => {
    const answer = await browser.execute(async () => {
      try {
        await window.__TAURI_INTERNALS__.invoke('plugin:window|title', { label: 'main' });
        return 'allowed';
      } catch (error) {
        return String(error);
      }
    });
    t.diagnostic(`plugin:window|title answered: ${answer}`);
    assert.match(answer, /not allowed/i);
  });

  it('continues to "Connect to Octopus" after choosing AWS with real accounts', async () => {
    await browser.$('#target-aws').click();
    assert.equal(await browser.$('#target-aws').getAttribute('aria-checked'), 'true');
    await screenshot(browser, '01-choose');
    await browser.$('#continue').click();
    const title = await browser.$('#screen-title');
    await title.waitUntil(async () => (await title.getText()) === 'Connect to Octopus', { timeout: 5000 });
    assert.ok(await browser.$('#server-url').isDisplayed());
    assert.ok(await browser.$('#api-key').isDisplayed());
    const current = await browser.$('[aria-current="step"]').getText();
    assert.match(current, /Connect Octopus/);
    // app_info's keychain answer reached the screen (either way: CI may have no keychain).
    const keychain = await browser.$('#keychain-note');
    await keychain.waitForDisplayed({ timeout: 5000 });
    assert.match(await keychain.getText(), /keychain/);
  });

  it('shows the desktop app\'s field errors for an invalid form', async () => {
    await browser.$('#server-url').setValue('http://octopus.example.com');
    await browser.$('#api-key').setValue('not-a-key');
    await browser.$('#check-connection').click();
    const urlNote = await browser.$('#server-url-note');
    await urlNote.waitUntil(async () => /unencrypted/.test(await urlNote.getText()), {
      timeout: 5000,
      timeoutMsg: 'no field error for the server URL',
    });
    assert.match(await browser.$('#api-key-note').getText(), /does not look like an Octopus API key/);
    await screenshot(browser, '02-connect-octopus-errors');
  });

  it('goes back and on to the Sandbox introduction in Sandbox mode', async () => {
    await browser.$('#back').click();
    await browser.$('#mode-sandbox').click();
    await browser.$('#continue').click();
    const title = await browser.$('#screen-title');
    await title.waitUntil(async () => (await title.getText()) === 'The built-in Sandbox', { timeout: 5000 });
    assert.match(await browser.$('.stand-ins').getText(), /AWS STS/);
    await screenshot(browser, '03-sandbox-intro');
  });

  it('starts the built-in Sandbox in the app and shows where its services listen', async () => {
    await browser.$('#continue').click();
    const running = await browser.$('#sandbox-running');
    await running.waitForDisplayed({ timeout: 20000, timeoutMsg: 'the Sandbox did not start' });
    const octopus = await browser.$('#endpoint-octopus').getText();
    assert.match(octopus, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(await browser.$('#endpoint-aws').getText(), /^http:\/\/127\.0\.0\.1:\d+$/);
    // The sandbox Octopus really answers (the webview may not fetch it under the CSP, so ask Node).
    const response = await fetch(`${octopus}/api`);
    assert.equal(response.status, 200);
    const root = await response.json();
    assert.match(root.Version, /^\d{4}\./);
    assert.equal(await browser.$('#continue').isEnabled(), false, 'a second start is not offered');
    // The app signed in to the sandbox Octopus from Rust with the sandbox's own key.
    const connection = await browser.$('#sandbox-connection');
    await connection.waitForDisplayed({ timeout: 20000, timeoutMsg: 'the app did not connect to the sandbox Octopus' });
    const connected = await connection.getText();
    assert.match(connected, /Connected to the sandbox Octopus as .+ \(version \d{4}\.[^,]*, \d+ spaces?\)/);
    assert.ok(connected.includes(root.Version), `${connected} names ${root.Version}`);
    assert.doesNotMatch(connected, /API-/);
    await browser.execute(() => document.title);
    await screenshot(browser, '04-sandbox-running');
  });
});
