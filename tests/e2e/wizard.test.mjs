// End-to-end tests of the real desktop window, driven through WebDriver against the in-app
// Sandbox: the welcome screen and its choices (and that WebKit paints it on the CPU), Connect
// Octopus with bad input, then for AWS,
// Azure, GitHub Actions and Google Cloud the whole flow (connect, cloud — Azure by browser sign-in through
// the Sandbox's authorize page —, scope, preview, plan, apply, verify, done), with one bad-input test per form on the way; an Azure apply that fails halfway on a
// sandbox fault and resumes; a rerun of a saved setup that shows "no changes"; and the GitHub
// flow at 1024×700 with the controls reachable on every screen (and no narrower than the layout).
// Screenshots of every screen go to target/e2e-screenshots/<flow>-<nn>-<screen>.png.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readSignInAddress, signInOnAuthorizePage } from './authorize-page.mjs';
import { appProcessTree, openAppForSuite, screenshot, waitEnabled, waitTitle } from './harness.mjs';

// The app's journals go to a folder of this run, never the user's own data folder.
const WORK = mkdtempSync(path.join(tmpdir(), 'octo-oidc-e2e-'));
process.env.XDG_DATA_HOME = path.join(WORK, 'data');

describe('the wizard window', () => {
  let browser;
  openAppForSuite((opened) => {
    browser = opened;
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

  it('offers Azure, AWS, GitHub Actions → Octopus and Google Cloud, and real or Sandbox', async () => {
    assert.equal(await browser.$('#screen-title').getText(), 'What do you want to set up?');
    const titles = [];
    for (const id of ['azure', 'aws', 'github', 'gcp']) {
      const card = await browser.$(`#target-${id}`);
      assert.ok(await card.isDisplayed(), `#target-${id} is shown`);
      titles.push(await card.$('.title').getText());
    }
    assert.deepEqual(titles, ['Azure', 'AWS', 'GitHub Actions', 'Google Cloud']);
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

  it('paints on the CPU without the DMA-BUF renderer: its web process starts with both variables', () => {
    // The app sets them for itself (src-tauri/src/renderer.rs); the runner must not hand them down.
    const variables = ['WEBKIT_SKIA_ENABLE_CPU_RENDERING', 'WEBKIT_DISABLE_DMABUF_RENDERER'];
    for (const name of variables) assert.equal(process.env[name], undefined, `the test environment sets ${name} already`);
    const tree = appProcessTree();
    const web = tree.filter((p) => p.name.startsWith('WebKitWebProces'));
    assert.ok(web.length > 0, `no WebKitWebProcess under the app: ${tree.map((p) => p.name).join(', ')}`);
    for (const p of web) {
      for (const name of variables) assert.ok(p.environ.includes(`${name}=1`), `web process ${p.pid}: ${name}`);
    }
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
    // keychain_status's answer reached the screen (either way: CI may have no keychain).
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

  it('Scope: nothing chosen blocks Continue; select-all shows the exact subjects live', async (t) => {
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
    const subjects = await chooseRunbookKey(browser);
    t.diagnostic(`${subjects.length} subjects previewed with the runbook key`);
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
    assert.ok(await browser.$('#continue').isEnabled(), 'the trust preview must allow the plan');
  });

  it('Review the plan → Apply → Verify → Done with the engine, then saves the setup file', async () => {
    await browser.$('#continue').click();
    await reviewPlan(browser, 'aws-10-review-plan', [/IAM OIDC provider/, /IAM role/, /Octopus account/]);
    await applyPlan(browser, 'aws-11-apply');
    // The runbook key makes the trust exactly the scope: a clear pass, with the account test's log.
    await verifyTrust(browser, 'aws-12-verify', { mustPass: true });
    assert.match(await browser.$('#verify-checks').getText(), /Account test/);
    assert.ok(await browser.$('.account-test-log').isExisting(), 'the account test shows its log');
    await browser.$('#continue').click();
    await waitTitle(browser, 'Done');
    const resources = await browser.$('#resources').getText();
    assert.match(resources, /arn:aws:iam::\d{12}:role\/octopus-e2e/);
    assert.match(resources, /console\.aws\.amazon\.com/);
    assert.match(resources, /Accounts-\d+/);
    await browser.$('#save-path').scrollIntoView({ block: 'center' });
    await browser.$('#save-path').setValue(SAVED_AWS);
    await browser.$('#save-setup').click();
    const command = await browser.$('#repeat-command');
    await command.waitForDisplayed({ timeout: 10000, timeoutMsg: 'the setup file was not saved' });
    assert.equal(await command.getText(), `octo-oidc apply --yes --sandbox sandbox.env ${SAVED_AWS}`);
    await screenshot(browser, 'aws-13-done');
  });

  it('reruns the saved setup from Welcome: the plan shows no changes', async () => {
    await browser.$('#finish').click();
    await waitTitle(browser, 'What do you want to set up?');
    await browser.$('#open-path').setValue(SAVED_AWS);
    await browser.$('#open-setup').click();
    const opened = await browser.$('#opened-setup');
    await opened.waitForDisplayed({ timeout: 15000, timeoutMsg: 'the saved setup did not open' });
    assert.match(await opened.getText(), /octopus-aws \(aws\)/);
    await screenshot(browser, 'rerun-01-welcome');
    await browser.$('#open-plan').click();
    await waitTitle(browser, 'Review the plan');
    const none = await browser.$('#no-changes');
    await none.waitForDisplayed({ timeout: 30000, timeoutMsg: 'the rerun did not show "no changes"' });
    assert.match(await browser.$('#plan-counts').getText(), /0 to create\s+0 to update\s+\d+ unchanged/);
    await screenshot(browser, 'rerun-02-review-plan');
  });
});

const SAVED_AWS = path.join(WORK, 'saved', 'octopus-aws.toml');

// The Azure path signs in with the browser: the app writes the authorize address to this file
// instead of opening a browser (Sandbox mode only), and authorize-page.mjs plays the browser.
const SIGN_IN_URL_FILE = path.join(WORK, 'azure-sign-in-url');

describe('the Azure path in the Sandbox, in the same window', () => {
  let browser;
  openAppForSuite(
    (opened) => {
      browser = opened;
    },
    { OCTO_OIDC_SIGN_IN_URL_FILE: SIGN_IN_URL_FILE },
  );

  let octopusUrl;

  it('walks Welcome → Sandbox → Connect Azure → Scope → Trust preview (over 20, then narrowed) → plan', async () => {
    await browser.$('#target-azure').click();
    await browser.$('#mode-sandbox').click();
    await screenshot(browser, 'azure-01-welcome');
    await browser.$('#continue').click();
    await waitTitle(browser, 'The built-in Sandbox');
    await browser.$('#start-sandbox').click();
    await waitEnabled(browser, '#continue', 'the Sandbox did not start and connect');
    octopusUrl = await browser.$('#endpoint-octopus').getText();
    await screenshot(browser, 'azure-02-sandbox');
    await browser.$('#continue').click();
    await waitTitle(browser, 'Connect Azure');
    await browser.$('#azure-tenant-id').setValue('not-a-guid');
    const note = await browser.$('#azure-tenant-id-note');
    await note.waitUntil(async () => (await note.getText()).length > 0, { timeout: 5000, timeoutMsg: 'no tenant id error' });
    // The note and the reason come from the same check but render in separate updates.
    const reason = await browser.$('#next-reason');
    await reason.waitUntil(async () => /^Tenant id: /.test(await reason.getText()), {
      timeout: 5000,
      timeoutMsg: 'Continue does not name the tenant id',
    });
    // Browser sign-in (auth code + PKCE) on the Sandbox's authorize page, as a user would.
    assert.equal(await browser.$('input[name="azure-sign-in"][value="browser"]').isSelected(), true, 'the browser is the default');
    await browser.$('#azure-sign-in').click();
    const address = await readSignInAddress(SIGN_IN_URL_FILE);
    assert.equal(address.protocol, 'https:');
    assert.match(address.pathname, /\/oauth2\/v2\.0\/authorize$/);
    assert.match(await browser.$('#azure-sign-in').getText(), /Signing in/);
    await screenshot(browser, 'azure-03-connect-cloud-signing-in');
    const ca = await (await fetch(`${octopusUrl}/_sandbox/ca.pem`)).text();
    const { user } = await signInOnAuthorizePage(address, ca);
    const status = await browser.$('#azure-signed-in');
    await status.waitUntil(async () => (await status.getText()).includes(`Signed in as ${user}`), {
      timeout: 20000,
      timeoutMsg: 'the app did not show the browser sign-in',
    });
    // The sandbox's own tenant and subscription.
    await browser.$('#azure-tenant-id').setValue('72f988bf-86f1-41af-91ab-2d7cd011db47');
    await browser.$('#azure-subscription-id').setValue('0b1f6471-1bf0-4dda-aec3-cb9272f09590');
    // A custom role (the Sandbox's ARM seeds CustomRole definitions), found by search.
    const role = await browser.$('#azure-role');
    await role.click();
    await role.setValue('Deployer');
    const firstRole = await browser.$('#azure-role-option-0');
    await firstRole.waitForExist({ timeout: 15000, timeoutMsg: 'the role picker found no custom role' });
    assert.match(await firstRole.getText(), /Octopus Web App Deployer[\s\S]*Custom role/);
    await browser.keys(['ArrowDown']);
    await browser.keys(['Enter']);
    await role.waitUntil(async () => (await role.getValue()) === 'Octopus Web App Deployer', {
      timeout: 5000,
      timeoutMsg: 'the custom role was not chosen',
    });
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
    // Preflight: the Sandbox's Octopus withholds AccountCreate, so the plan names the gap.
    const withheld = `${octopusUrl}/_sandbox/octopus/withheld-permissions/AccountCreate`;
    assert.equal((await fetch(withheld, { method: 'PUT' })).status, 204);
    await browser.$('#continue').click();
    await waitTitle(browser, 'Review the plan');
    const preflight = await browser.$('#preflight');
    await preflight.waitForDisplayed({ timeout: 30000, timeoutMsg: 'the preflight findings were not listed' });
    const gap = await browser.$('#preflight li[data-permission="AccountCreate"]');
    assert.equal(await gap.getAttribute('data-status'), 'missing');
    assert.match(await gap.getText(), /Octopus/);
    assert.match(await gap.getText(), /Needed to create octopus_account/);
    assert.match(await gap.getText(), /Who can grant it: \S/);
    assert.match(await browser.$('#preflight-blocks').getText(), /AccountCreate/);
    const preflightReason = await browser.$('#next-reason');
    await preflightReason.waitUntil(async () => /^Preflight found 1 missing permission/.test(await preflightReason.getText()), {
      timeout: 5000,
      timeoutMsg: 'Continue does not name the preflight gap',
    });
    assert.equal(await browser.$('#continue').isEnabled(), false, 'a blocking preflight disables Apply');
    await gap.scrollIntoView({ block: 'center' });
    await screenshot(browser, 'azure-07-review-plan-preflight');
    // Proceeding anyway is an explicit choice (--ignore-preflight)...
    await browser.$('#proceed-despite-preflight').click();
    await waitEnabled(browser, '#continue', 'proceeding anyway did not enable Continue');
    // ...and once the permission is granted again, checking again shows nothing blocking.
    assert.equal((await fetch(withheld, { method: 'DELETE' })).status, 204);
    await browser.$('#plan-again-preflight').click();
    await browser.$('#preflight-blocks').waitForExist({ reverse: true, timeout: 30000, timeoutMsg: 'the preflight still blocks' });
    assert.equal(await browser.$('#preflight li[data-permission="AccountCreate"]').isExisting(), false, 'AccountCreate granted');
    await reviewPlan(browser, 'azure-07-review-plan', [/App registration/, /Federated credential/, /Role assignment/, /Octopus Web App Deployer/, /Octopus account/]);
  });

  it('fails halfway on a sandbox fault (the Octopus account is refused) and resumes', async () => {
    // The Octopus account is the last step: everything on the Azure side is made before it fails.
    for (const route of ['/api/{space}/accounts', '/api/spaces/{space}/accounts']) {
      const rule = { service: 'octopus', operation: `POST ${route}`, fault: { kind: 'server_error', status: 403 }, times: 1 };
      const response = await fetch(`${octopusUrl}/_sandbox/faults/rules`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(rule),
      });
      assert.equal(response.status, 201);
    }
    await browser.$('#continue').click();
    await waitTitle(browser, 'Apply');
    await browser.$('#apply-start').click();
    const failure = await browser.$('#apply-failure');
    await failure.waitForDisplayed({ timeout: 60000, timeoutMsg: 'apply did not stop at the fault' });
    assert.match(await browser.$('#apply-failure-message').getText(), /\S/);
    assert.ok(await browser.$('#apply-failure-fix').isExisting(), 'the failure names a fix');
    const statuses = await stepStatuses(browser, '#apply-steps');
    assert.ok(statuses.includes('done'), `some steps were done before the fault: ${statuses}`);
    assert.ok(statuses.includes('failed'), `the account step failed: ${statuses}`);
    assert.equal(await browser.$('#continue').isEnabled(), false, 'a failed apply cannot continue');
    await screenshot(browser, 'azure-08-apply-failed');
    await fetch(`${octopusUrl}/_sandbox/faults`, { method: 'DELETE' });
    await browser.$('#apply-retry').click();
    const done = await browser.$('#apply-done');
    await done.waitForDisplayed({ timeout: 60000, timeoutMsg: 'the resumed apply did not finish' });
    assert.match(await done.getText(), /resumed/);
    assert.deepEqual([...new Set(await stepStatuses(browser, '#apply-steps'))].filter((s) => s !== 'done' && s !== 'unchanged'), []);
    await screenshot(browser, 'azure-09-apply');
  });

  it('verifies and shows what exists, with the Azure portal link', async () => {
    await verifyTrust(browser, 'azure-10-verify');
    await browser.$('#continue').click();
    await waitTitle(browser, 'Done');
    const resources = await browser.$('#resources').getText();
    assert.match(resources, /portal\.azure\.com/);
    assert.match(resources, /Accounts-\d+/);
    await screenshot(browser, 'azure-11-done');
  });
});

describe('the GitHub Actions path in the Sandbox', () => {
  let browser;
  openAppForSuite((opened) => {
    browser = opened;
  });

  it('walks Welcome → Sandbox → repository and service account → space → identity → plan at 1024×700', async () => {
    // Narrower than the shell's layout (sidebar + content, 1000 px) the window does not go: the
    // right edge, Continue with it, would be cut off.
    await browser.setWindowSize(800, 600);
    await browser.$('#target-github').waitForDisplayed({ timeout: 10000 });
    const narrowest = await browser.execute(() => window.innerWidth);
    assert.ok(narrowest >= 1000, `the window became ${narrowest} px wide`);
    await assertReachable(browser, ['#continue']);
    await browser.setWindowSize(1024, 700);
    const size = await browser.execute(() => [window.innerWidth, window.innerHeight]);
    assert.ok(size[0] <= 1024 && size[1] <= 700, `the window is ${size}`);
    await assertReachable(browser, ['#target-github', '#mode-sandbox', '#continue', '#open-setup']);
    await browser.$('#target-github').click();
    await browser.$('#mode-sandbox').click();
    await screenshot(browser, 'github-01-welcome');
    await browser.$('#continue').click();
    await waitTitle(browser, 'The built-in Sandbox');
    await browser.$('#start-sandbox').click();
    await waitEnabled(browser, '#continue', 'the Sandbox did not start and connect');
    await browser.$('#continue').click();
    await waitTitle(browser, 'Repository and service account');
    // The Sandbox's own GitHub-style issuer is chosen first, so the whole sign-in is rehearsed.
    assert.equal(await browser.$('#github-issuer-kind').getValue(), 'sandbox');
    const issuerNote = await browser.$('#github-issuer-note');
    await issuerNote.waitUntil(async () => /https:\/\/github\.sandbox\.localhost/.test(await issuerNote.getText()), {
      timeout: 10000,
      timeoutMsg: 'the Sandbox issuer was not named',
    });
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
    assert.match(await identity.getText(), /https:\/\/github\.sandbox\.localhost/);
    await waitEnabled(browser, '#continue', 'the identity preview did not enable Continue');
    await screenshot(browser, 'github-05-trust-preview');
    await browser.$('#continue').click();
    await reviewPlan(browser, 'github-06-review-plan', [/Service account/, /OIDC identity/]);
    await assertReachable(browser, ['#back', '#continue']);
  });

  it('applies, verifies, shows the workflow snippet, and tears down after confirmation', async () => {
    await applyPlan(browser, 'github-07-apply');
    await assertReachable(browser, ['#back', '#continue']);
    await verifyTrust(browser, 'github-08-verify');
    await assertReachable(browser, ['#back', '#continue']);
    await browser.$('#continue').click();
    await waitTitle(browser, 'Done');
    const snippet = await browser.$('#ci-snippet').getText();
    assert.match(snippet, /OctopusDeploy\/login/);
    assert.match(snippet, /id-token: write/);
    await screenshot(browser, 'github-09-done');
    await browser.$('#teardown').scrollIntoView({ block: 'center' });
    await assertReachable(browser, ['#teardown']);
    await browser.$('#teardown').click();
    await browser.$('#teardown-confirm').click();
    const result = await browser.$('#teardown-result');
    await result.waitForDisplayed({ timeout: 60000, timeoutMsg: 'teardown did not finish' });
    assert.match(await result.getText(), /Torn down\. [1-9]\d* resources? removed/);
    await browser.$('#finish').scrollIntoView({ block: 'center' });
    await assertReachable(browser, ['#finish', '#back']);
  });
});

describe('the Google Cloud path in the Sandbox', () => {
  let browser;
  openAppForSuite((opened) => {
    browser = opened;
  });

  it('walks Welcome → Sandbox → Connect Google Cloud → Scope → Trust preview (CEL condition, bindings) → plan', async () => {
    await browser.$('#target-gcp').waitForDisplayed({ timeout: 10000 });
    await browser.$('#target-gcp').click();
    await browser.$('#mode-sandbox').click();
    await screenshot(browser, 'gcp-01-welcome');
    await browser.$('#continue').click();
    await waitTitle(browser, 'The built-in Sandbox');
    assert.match(await browser.$('.stand-ins').getText(), /Google STS/);
    await browser.$('#start-sandbox').click();
    await waitEnabled(browser, '#continue', 'the Sandbox did not start and connect');
    assert.match(await browser.$('#endpoint-gcp').getText(), /^https?:\/\/127\.0\.0\.1:\d+/);
    await screenshot(browser, 'gcp-02-sandbox-intro');
    await browser.$('#continue').click();
    await waitTitle(browser, 'Connect Google Cloud');
    // The sandbox's seeded project fills the form.
    const project = await browser.$('#gcp-project');
    await project.waitUntil(async () => (await project.getValue()).length > 0, { timeout: 10000, timeoutMsg: 'the sandbox project was not filled in' });
    assert.match(await browser.$('#gcp-sandbox-note').getText(), new RegExp(await project.getValue()));
    // Bad input: the core's message on the pool id, Continue names it.
    await browser.$('#gcp-pool').setValue('gcp-reserved');
    const poolNote = await browser.$('#gcp-pool-note');
    await poolNote.waitUntil(async () => !/^4–32/.test(await poolNote.getText()), { timeout: 5000, timeoutMsg: 'no pool id error' });
    assert.match(await browser.$('#next-reason').getText(), /^Pool id: /);
    // Over an hour: the organization-policy warning.
    await browser.$('#gcp-token-lifetime').setValue('7200');
    await (await browser.$('#gcp-lifetime-warning')).waitForDisplayed({ timeout: 5000 });
    assert.match(await browser.$('#gcp-lifetime-warning').getText(), /iam\.allowServiceAccountCredentialLifetimeExtension/);
    await screenshot(browser, 'gcp-03-connect-cloud-errors');
    await browser.$('#gcp-pool').setValue('octo-e2e');
    await browser.$('#gcp-token-lifetime').setValue('3600');
    await browser.$('#gcp-roles').setValue('roles/storage.objectViewer');
    await waitEnabled(browser, '#continue', 'valid Google Cloud settings did not enable Continue');
    await screenshot(browser, 'gcp-04-connect-cloud');
    await browser.$('#continue').click();
    await waitTitle(browser, 'What may use the trust');
    const projectsAll = await browser.$('#projects-all');
    await projectsAll.waitForExist({ timeout: 15000, timeoutMsg: 'the space inventory did not load' });
    await browser.$('#environments-all').click();
    await browser.$('#projects-rows input[type="checkbox"]').click();
    await chooseRunbookKey(browser);
    await waitEnabled(browser, '#continue', 'a chosen scope did not enable Continue');
    await screenshot(browser, 'gcp-05-scope');
    await browser.$('#continue').click();
    await waitTitle(browser, 'Trust preview');
    const condition = await browser.$('#gcp-attribute-condition');
    await condition.waitForDisplayed({ timeout: 20000, timeoutMsg: 'no Google trust previewed' });
    assert.match(await condition.getText(), /^assertion\.sub in \[/);
    assert.match(await browser.$('#gcp-attribute-mapping').getText(), /google\.subject/);
    const bindings = await browser.$('#gcp-bindings').getText();
    assert.match(bindings, /roles\/iam\.workloadIdentityUser/);
    assert.match(bindings, /principal:\/\/iam\.googleapis\.com\/projects\/\d+\/locations\/global\/workloadIdentityPools\/octo-e2e\/subject\//);
    assert.match(bindings, /roles\/storage\.objectViewer/);
    assert.match(await browser.$('#gcp-audience').getText(), /^\/\/iam\.googleapis\.com\/projects\/\d+\/.*\/providers\//);
    await waitEnabled(browser, '#continue', 'the Google trust preview did not enable Continue');
    await condition.scrollIntoView({ block: 'center' });
    await screenshot(browser, 'gcp-06-trust-preview');
    await browser.$('#continue').click();
    await reviewPlan(browser, 'gcp-07-review-plan', [/Workload identity pool/, /Workload identity provider/, /Google service account/, /Octopus account/]);
  });

  it('applies, verifies, and shows the service account email for the step', async () => {
    await applyPlan(browser, 'gcp-08-apply');
    await verifyTrust(browser, 'gcp-09-verify', { mustPass: true });
    await browser.$('#continue').click();
    await waitTitle(browser, 'Done');
    // The Google Cloud console's pages, from the app layer.
    const resources = await browser.$('#resources').getText();
    assert.match(resources, /https:\/\/console\.cloud\.google\.com\/iam-admin\/workload-identity-pools\/pool\/octo-e2e\?project=/);
    assert.match(resources, /https:\/\/console\.cloud\.google\.com\/iam-admin\/serviceaccounts\/details\//);
    assert.match(resources, /https:\/\/console\.cloud\.google\.com\/iam-admin\/iam\?project=/);
    const email = await browser.$('#gcp-service-account-value').getText();
    assert.match(email, /^[a-z0-9-]+@[a-z0-9-]+\.iam\.gserviceaccount\.com$/);
    assert.match(await browser.$('#gcp-step').getText(), /Octopus\.Action\.GoogleCloud\.ServiceAccountEmails/);
    await browser.$('#gcp-step').scrollIntoView({ block: 'center' });
    await screenshot(browser, 'gcp-10-done');
  });
});

/** Review the plan: the engine's observed plan, with the given steps, and Continue enabled. */
async function reviewPlan(browser, name, expected) {
  await waitTitle(browser, 'Review the plan');
  const plan = await browser.$('#plan');
  await plan.waitForDisplayed({ timeout: 30000, timeoutMsg: 'the engine did not plan' });
  const text = await plan.getText();
  for (const pattern of expected) assert.match(text, pattern);
  assert.match(await browser.$('#plan-counts').getText(), /[1-9]\d* to create/);
  await waitEnabled(browser, '#continue', 'the plan did not allow apply');
  await screenshot(browser, name);
}

/**
 * Scope with one project chosen: adds the runbook to the deployment subject keys, so runbook
 * runs present their own subjects (outside the scope) instead of the deployments'. The one
 * project's preview settles first: a late answer re-renders the subject list, and a page that
 * changes height under a click can move the checkbox away from it. Returns the subjects.
 */
async function chooseRunbookKey(browser) {
  await settledSubjects(browser, "the one project's subjects were not previewed", (all) =>
    new Set(all.map((subject) => /:project:([^:]+)/.exec(subject)?.[1]).filter(Boolean)).size === 1,
  );
  const runbookKey = await browser.$('#key-deployment-runbook');
  await runbookKey.scrollIntoView({ block: 'center' });
  await runbookKey.click();
  await runbookKey.waitUntil(async () => runbookKey.isSelected(), {
    timeout: 5000,
    timeoutMsg: 'the runbook key was not chosen',
  });
  const subjects = await settledSubjects(browser, 'no subjects previewed with the runbook key');
  assert.ok(subjects.every((subject) => !subject.includes(':runbook:')), `${subjects}`);
  return subjects;
}

/**
 * Waits until the Scope screen's live preview has answered (a count, not "updating") and its
 * subjects pass `accept`; returns them.
 */
async function settledSubjects(browser, timeoutMsg, accept = (all) => all.length > 0) {
  let subjects = [];
  await browser.waitUntil(
    async () => {
      const state = await browser.execute(() => ({
        count: document.querySelector('#subject-count')?.textContent?.trim() ?? '',
        subjects: [...document.querySelectorAll('#subjects li code')].map((code) => code.textContent ?? ''),
      }));
      subjects = state.subjects;
      return /^\(\d+\)$/.test(state.count) && state.count !== '(0)' && accept(subjects);
    },
    { timeout: 15000, interval: 100, timeoutMsg },
  );
  return subjects;
}

/** Apply: runs the plan, every step ends done, Continue opens. */
async function applyPlan(browser, name) {
  await browser.$('#continue').click();
  await waitTitle(browser, 'Apply');
  assert.equal(await browser.$('#continue').isEnabled(), false, 'Continue waits for apply');
  await browser.$('#apply-start').click();
  const done = await browser.$('#apply-done');
  await done.waitForDisplayed({ timeout: 60000, timeoutMsg: 'apply did not finish' });
  const statuses = await stepStatuses(browser, '#apply-steps');
  assert.ok(statuses.length > 0 && statuses.every((s) => s === 'done' || s === 'unchanged'), `${statuses}`);
  await waitEnabled(browser, '#continue', 'a finished apply did not allow verify');
  await screenshot(browser, name);
}

/** Verify: the engine's checks ran, including the account test; a pass, or failures accepted. */
async function verifyTrust(browser, name, { mustPass = false } = {}) {
  await browser.$('#continue').click();
  await waitTitle(browser, 'Verify');
  const verdict = await browser.$('#verify-verdict');
  await verdict.waitForDisplayed({ timeout: 90000, timeoutMsg: 'verify did not finish' });
  const checks = await browser.$('#verify-checks').getText();
  assert.match(checks, /Issuer/);
  if (!mustPass && /Problems found/.test(await verdict.getText())) {
    // Listed failures may be accepted; the reason is on screen.
    assert.equal(await browser.$('#continue').isEnabled(), false);
    await screenshot(browser, name);
    await browser.$('#accept-failures').click();
  } else {
    // On a failure the assertion shows every check, so a CI log names what failed.
    assert.match(await verdict.getText(), /Passed/, `${await verdict.getText()}\n${checks}`);
    await screenshot(browser, name);
  }
  await waitEnabled(browser, '#continue', 'verify did not offer Done');
}

async function stepStatuses(browser, selector) {
  return browser.execute(
    (s) => [...document.querySelectorAll(`${s} li`)].map((li) => li.getAttribute('data-status')),
    selector,
  );
}

/** Each control is inside the window (scrolling its own area if needed) and not covered. */
async function assertReachable(browser, selectors) {
  for (const selector of selectors) {
    const element = await browser.$(selector);
    await element.scrollIntoView({ block: 'nearest' });
    const box = await browser.execute((s) => {
      const e = document.querySelector(s);
      if (e === null) return null;
      const r = e.getBoundingClientRect();
      const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return { r: [r.left, r.top, r.right, r.bottom], w: window.innerWidth, h: window.innerHeight, hit: top !== null && (e === top || e.contains(top)) };
    }, selector);
    assert.ok(box !== null, `${selector} exists`);
    assert.ok(box.r[0] >= 0 && box.r[1] >= 0 && box.r[2] <= box.w && box.r[3] <= box.h, `${selector} is inside the ${box.w}×${box.h} window: ${box.r}`);
    assert.ok(box.hit, `${selector} is not covered`);
  }
}
