// End-to-end tests of the real desktop window, driven through WebDriver: the welcome screen and
// its choices, Connect Octopus with bad input, then the AWS path in the built-in Sandbox through
// Connect AWS, Scope and the trust preview (with one bad-input test per form on the way).
// Screenshots of every screen go to target/e2e-screenshots/<flow>-<nn>-<screen>.png.
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
    await screenshot(browser, 'aws-01-welcome');
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
    await screenshot(browser, 'aws-02-connect-octopus-errors');
  });

  it('goes back and on to the Sandbox introduction in Sandbox mode', async () => {
    await browser.$('#back').click();
    await browser.$('#mode-sandbox').click();
    await browser.$('#continue').click();
    const title = await browser.$('#screen-title');
    await title.waitUntil(async () => (await title.getText()) === 'The built-in Sandbox', { timeout: 5000 });
    assert.match(await browser.$('.stand-ins').getText(), /AWS STS/);
    assert.match(await browser.$('#sandbox-banner').getText(), /Sandbox/);
    assert.equal(await browser.$('#continue').isEnabled(), false, 'Continue waits for the Sandbox');
    assert.match(await browser.$('#next-reason').getText(), /Connect to Octopus/);
    await screenshot(browser, 'aws-03-sandbox-intro');
  });

  it('starts the built-in Sandbox in the app and shows where its services listen', async () => {
    await browser.$('#start-sandbox').click();
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
    assert.equal(await browser.$('#start-sandbox').isEnabled(), false, 'a second start is not offered');
    // The app signed in to the sandbox Octopus from Rust with the sandbox's own key.
    const connection = await browser.$('#sandbox-connection');
    await connection.waitForDisplayed({ timeout: 20000, timeoutMsg: 'the app did not connect to the sandbox Octopus' });
    const connected = await connection.getText();
    assert.match(connected, /Connected to the sandbox Octopus as .+ \(version \d{4}\.[^,]*, \d+ spaces?\)/);
    assert.ok(connected.includes(root.Version), `${connected} names ${root.Version}`);
    assert.doesNotMatch(connected, /API-/);
    await browser.execute(() => document.title);
    await waitEnabled(browser, '#continue', 'connecting to the sandbox Octopus did not complete the step');
    await screenshot(browser, 'aws-04-sandbox-running');
  });

  it('Connect AWS: checks the form as typed with the core\'s messages, Continue names the problem', async () => {
    await browser.$('#continue').click();
    await waitTitle(browser, 'Connect AWS');
    assert.match(await browser.$('[aria-current="step"]').getText(), /Connect AWS/);
    assert.match(await browser.$('#sandbox-banner').getText(), /Sandbox/);
    await waitEnabled(browser, '#continue', 'the default AWS settings did not validate');
    const role = await browser.$('#aws-role-name');
    await role.setValue('bad role name!');
    const note = await browser.$('#aws-role-name-note');
    await note.waitUntil(async () => (await note.getText()) !== 'The IAM role Octopus assumes.', {
      timeout: 5000,
      timeoutMsg: 'no field error for the role name',
    });
    assert.equal(await browser.$('#continue').isEnabled(), false, 'Continue is disabled on a bad role name');
    assert.match(await browser.$('#next-reason').getText(), /^Role name: /);
    await browser.$('#aws-session-duration').setValue('12');
    const duration = await browser.$('#aws-session-duration-note');
    await duration.waitUntil(async () => /900|43200|3600|second/i.test(await duration.getText()) && (await duration.getText()) !== '900 to 43200; 3600 is one hour.', {
      timeout: 5000,
      timeoutMsg: 'no field error for the session duration',
    });
    await screenshot(browser, 'aws-05-connect-cloud-errors');
    await role.setValue('octopus-e2e');
    await browser.$('#aws-session-duration').setValue('3600');
    await waitEnabled(browser, '#continue', 'fixing the fields did not enable Continue');
    await screenshot(browser, 'aws-06-connect-cloud');
  });

  it('Back keeps what was typed, Escape goes back too', async () => {
    await browser.$('#back').click();
    await waitTitle(browser, 'The built-in Sandbox');
    await browser.$('#continue').waitForEnabled({ timeout: 10000 });
    await browser.$('#continue').click();
    await waitTitle(browser, 'Connect AWS');
    assert.equal(await browser.$('#aws-role-name').getValue(), 'octopus-e2e');
    await browser.$('#screen-title').click();
    await browser.keys('Escape');
    await waitTitle(browser, 'The built-in Sandbox');
    await browser.$('#continue').waitForEnabled({ timeout: 10000 });
    await browser.$('#continue').click();
    await waitTitle(browser, 'Connect AWS');
    await waitEnabled(browser, '#continue', 'Connect AWS lost its state');
  });

  it('Scope: nothing chosen blocks Continue; select-all shows the exact subjects live', async () => {
    await browser.$('#continue').click();
    await waitTitle(browser, 'What may use the trust');
    const projectsAll = await browser.$('#projects-all');
    await projectsAll.waitForExist({ timeout: 15000, timeoutMsg: 'the space inventory did not load' });
    const reason = await browser.$('#next-reason');
    await reason.waitUntil(async () => !/^Choose what may use the trust/.test(await reason.getText()), {
      timeout: 10000,
      timeoutMsg: 'the app layer did not say why an empty scope cannot continue',
    });
    assert.equal(await browser.$('#continue').isEnabled(), false, 'an empty scope cannot continue');
    await screenshot(browser, 'aws-07-scope-errors');
    // Search narrows the virtualised list.
    await browser.$('#projects-search').setValue('zzz-no-such-project');
    await browser.$('#projects-rows').waitUntil(async () => /No match/.test(await browser.$('#projects-rows').getText()), { timeout: 5000 });
    await browser.$('#projects-search').click();
    await browser.keys(['Control', 'a']);
    await browser.keys('Backspace');
    await browser.$('#projects-rows').waitUntil(async () => !/No match/.test(await browser.$('#projects-rows').getText()), { timeout: 5000 });
    await browser.$('#environments-all').click();
    await projectsAll.click();
    assert.match(await browser.$('#projects-count').getText(), /^All \d+/);
    // One project: all of them would not fit IAM's trust-policy quota.
    await projectsAll.click();
    await browser.$('#projects-rows input[type="checkbox"]').click();
    assert.match(await browser.$('#projects-count').getText(), /^1 of \d+ selected/);
    const count = await browser.$('#subject-count');
    await count.waitUntil(async () => /\(\d+\)/.test(await count.getText()) && !/\(0\)/.test(await count.getText()), {
      timeout: 15000,
      timeoutMsg: 'no subjects previewed',
    });
    const first = await browser.$('#subjects li code').getText();
    assert.match(first, /^space:/);
    await waitEnabled(browser, '#continue', 'a chosen scope did not enable Continue');
    await browser.$('#subjects').scrollIntoView({ block: 'center' });
    await screenshot(browser, 'aws-08-scope');
  });

  it('Trust preview: the trust the engine would create, or why the core refuses it', async (t) => {
    await browser.$('#continue').click();
    await waitTitle(browser, 'Trust preview');
    const issuer = await browser.$('#preview-issuer');
    await issuer.waitForDisplayed({ timeout: 20000, timeoutMsg: 'no preview' });
    assert.match(await issuer.getText(), /^https:\/\//);
    if (await browser.$('#trust-blocked').isExisting()) {
      // An issuer IAM refuses (a port), or a policy over the quota: the core says which.
      const blocked = await browser.$('#trust-blocked').getText();
      t.diagnostic(`trust blocked: ${blocked}`);
      assert.match(blocked, /port|quota/);
      assert.equal(await browser.$('#continue').isEnabled(), false);
    } else {
      await (await browser.$('#matrix-summary')).waitForDisplayed({ timeout: 10000 });
      assert.equal(await browser.$('#under-permission').getText(), '0');
      assert.match(await browser.$('#trust-policy').getText(), /sts:AssumeRoleWithWebIdentity/);
      assert.match(await browser.$('#policy-size').getText(), /^\d+ of \d+ characters/);
      if ((await browser.$('#over-permission').getText()) !== '0') {
        // The project's runbook runs present the deployments' subjects (default keys).
        assert.equal(await browser.$('#continue').isEnabled(), false, 'differences must be accepted');
        await browser.$('#accept-differences').click();
      }
      await waitEnabled(browser, '#continue', 'the trust preview did not enable Continue');
    }
    await browser.$('#trust-policy').scrollIntoView({ block: 'center' });
    await screenshot(browser, 'aws-09-trust-preview');
    if (await browser.$('#continue').isEnabled()) {
      await browser.$('#continue').click();
      await waitTitle(browser, 'Review the plan');
      const plan = await browser.$('#plan').getText();
      assert.match(plan, /IAM OIDC provider/);
      assert.match(plan, /IAM role/);
      assert.match(plan, /Octopus account/);
      await screenshot(browser, 'aws-10-review-plan');
    }
  });
});

describe('the Azure path in the Sandbox, in the same window', () => {
  let app;
  let browser;

  before(async () => {
    app = await openApp();
    browser = app.browser;
  });

  after(async () => {
    await app?.close();
  });

  it('walks Welcome → Sandbox → Connect Azure → Scope → Trust preview (over 20, then narrowed) → plan', async () => {
    await browser.$('#target-azure').click();
    await browser.$('#mode-sandbox').click();
    await screenshot(browser, 'azure-01-welcome');
    await browser.$('#continue').click();
    await waitTitle(browser, 'The built-in Sandbox');
    await browser.$('#start-sandbox').click();
    await waitEnabled(browser, '#continue', 'the Sandbox did not start and connect');
    await screenshot(browser, 'azure-02-sandbox');
    await browser.$('#continue').click();
    await waitTitle(browser, 'Connect Azure');
    await browser.$('#azure-tenant-id').setValue('not-a-guid');
    const note = await browser.$('#azure-tenant-id-note');
    await note.waitUntil(async () => (await note.getText()).length > 0, { timeout: 5000, timeoutMsg: 'no tenant id error' });
    assert.match(await browser.$('#next-reason').getText(), /^Tenant id: /);
    await browser.$('#azure-tenant-id').setValue('11111111-2222-3333-4444-555555555555');
    await browser.$('#azure-subscription-id').setValue('66666666-7777-8888-9999-000000000000');
    await waitEnabled(browser, '#continue', 'valid Azure ids did not enable Continue');
    await screenshot(browser, 'azure-03-connect-cloud');
    await browser.$('#continue').click();
    await waitTitle(browser, 'What may use the trust');
    await (await browser.$('#projects-all')).waitForExist({ timeout: 15000 });
    await browser.$('#environments-all').click();
    await browser.$('#projects-all').click();
    await waitEnabled(browser, '#continue', 'the scope did not enable Continue');
    await browser.$('#continue').click();
    await waitTitle(browser, 'Trust preview');
    const count = await browser.$('#credential-count');
    await count.waitForDisplayed({ timeout: 20000, timeoutMsg: 'no credential count' });
    assert.match(await count.getText(), /^\d+ of 20 credentials/);
    assert.match(await browser.$('#azure-alternatives').getText(), /Alternatives/);
    assert.equal(await browser.$('#continue').isEnabled(), false, 'over the limit cannot continue');
    await screenshot(browser, 'azure-04-trust-preview-over-limit');
    // Back to the scope: one project only fits one app registration.
    await browser.$('#back').click();
    await waitTitle(browser, 'What may use the trust');
    await (await browser.$('#projects-all')).waitForExist({ timeout: 15000 });
    await browser.$('#projects-all').click();
    await browser.$('#projects-rows input[type="checkbox"]').click();
    await browser.$('#subject-count').waitUntil(async () => /\((1[0-9]|[1-9])\)/.test(await browser.$('#subject-count').getText()), {
      timeout: 15000,
      timeoutMsg: 'the narrowed scope was not previewed',
    });
    await waitEnabled(browser, '#continue', 'the narrowed scope did not enable Continue');
    await screenshot(browser, 'azure-05-scope');
    await browser.$('#continue').click();
    await waitTitle(browser, 'Trust preview');
    const matrix = await browser.$('#matrix-summary');
    await matrix.waitForDisplayed({ timeout: 20000, timeoutMsg: 'no matrix' });
    // Octopus's default keys leave the runbook out of the subject, so the project's runbook runs
    // present the deployments' subjects: the simulator flags them as over-permission.
    assert.equal(await browser.$('#under-permission').getText(), '0');
    assert.notEqual(await browser.$('#over-permission').getText(), '0');
    assert.match(await browser.$('#matrix tbody tr.over_permission').getText(), /runbook/);
    assert.equal(await browser.$('#continue').isEnabled(), false, 'differences must be accepted');
    assert.match(await browser.$('#next-reason').getText(), /does not match the scope/);
    await screenshot(browser, 'azure-06-trust-preview');
    await browser.$('#accept-differences').click();
    await waitEnabled(browser, '#continue', 'accepting the differences did not enable Continue');
    await browser.$('#continue').click();
    await waitTitle(browser, 'Review the plan');
    const plan = await browser.$('#plan').getText();
    assert.match(plan, /App registration/);
    assert.match(plan, /Federated credential/);
    assert.match(plan, /Octopus account/);
    assert.equal(await browser.$('#continue').isEnabled(), false, 'apply is not in this build');
    await screenshot(browser, 'azure-07-review-plan');
  });
});

describe('the GitHub Actions path in the Sandbox', () => {
  let app;
  let browser;

  before(async () => {
    app = await openApp();
    browser = app.browser;
  });

  after(async () => {
    await app?.close();
  });

  it('walks Welcome → Sandbox → repository and service account → space → identity → plan', async () => {
    await browser.$('#target-github').click();
    await browser.$('#mode-sandbox').click();
    await screenshot(browser, 'github-01-welcome');
    await browser.$('#continue').click();
    await waitTitle(browser, 'The built-in Sandbox');
    await browser.$('#start-sandbox').click();
    await waitEnabled(browser, '#continue', 'the Sandbox did not start and connect');
    await browser.$('#continue').click();
    await waitTitle(browser, 'Repository and service account');
    await browser.$('#github-repository').setValue('not a repo');
    const note = await browser.$('#github-repository-note');
    await note.waitUntil(async () => (await note.getText()).length > 0, { timeout: 5000, timeoutMsg: 'no repository error' });
    assert.match(await browser.$('#next-reason').getText(), /^Repository: /);
    await screenshot(browser, 'github-02-connect-cloud-errors');
    await browser.$('#github-repository').setValue('acme/shop');
    await waitEnabled(browser, '#continue', 'a valid repository did not enable Continue');
    await screenshot(browser, 'github-03-connect-cloud');
    await browser.$('#continue').click();
    await waitTitle(browser, 'The space');
    await waitEnabled(browser, '#continue', 'the space did not enable Continue');
    await screenshot(browser, 'github-04-scope');
    await browser.$('#continue').click();
    await waitTitle(browser, 'Trust preview');
    const identity = await browser.$('#ci-identity');
    await identity.waitForDisplayed({ timeout: 20000, timeoutMsg: 'no identity previewed' });
    assert.match(await identity.getText(), /repo:acme\/shop:ref:refs\/heads\/main/);
    await waitEnabled(browser, '#continue', 'the identity preview did not enable Continue');
    await screenshot(browser, 'github-05-trust-preview');
    await browser.$('#continue').click();
    await waitTitle(browser, 'Review the plan');
    assert.match(await browser.$('#plan').getText(), /OIDC identity/);
    await screenshot(browser, 'github-06-review-plan');
  });
});

async function waitTitle(browser, text) {
  const title = await browser.$('#screen-title');
  await title.waitUntil(async () => (await title.getText()) === text, {
    timeout: 10000,
    timeoutMsg: `the screen "${text}" did not open`,
  });
}

async function waitEnabled(browser, selector, message) {
  const element = await browser.$(selector);
  await element.waitUntil(async () => element.isEnabled(), { timeout: 15000, timeoutMsg: message });
}
