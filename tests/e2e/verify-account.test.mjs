// End-to-end test of "Verify an existing account" (QA's flow from Welcome) in the real window
// against the in-app Sandbox: an AWS and an Azure account are created first in the same Sandbox
// (saved setups opened from Welcome, planned, applied), then Welcome → "Verify an existing
// account" → the Sandbox → pick the account from the space's OIDC accounts (type shown) → the
// Verify screen passes, with the account test. The Azure account is then verified as the user
// signed in on the pick screen (the browser sign-in on the Sandbox's authorize page): a user
// with no Azure role gets ARM's refusal, the administrator a pass.
// Screenshots: target/e2e-screenshots/verify-<nn>-<screen>.png.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readSignInAddress, signInOnAuthorizePage } from './authorize-page.mjs';
import { openApp, screenshot, waitEnabled, waitTitle } from './harness.mjs';

const WORK = mkdtempSync(path.join(tmpdir(), 'octo-oidc-e2e-verify-'));
process.env.XDG_DATA_HOME = path.join(WORK, 'data');
const ACCOUNT = 'QA existing (OIDC)';
const SETUP = path.join(WORK, 'qa-existing.toml');
const AZURE_ACCOUNT = 'QA existing Azure (OIDC)';
const AZURE_SETUP = path.join(WORK, 'qa-existing-azure.toml');
// The app writes the Sandbox's authorize address here instead of opening a browser.
const SIGN_IN_URL_FILE = path.join(WORK, 'azure-sign-in-url');
process.env.OCTO_OIDC_SIGN_IN_URL_FILE = SIGN_IN_URL_FILE;
// The Sandbox's Octopus, as its screen lists it (its CA is served there).
let sandboxOctopusUrl;

/** A setup of `target` whose account `account` serves exactly its scope: every project (and
 *  runbook) in production, untenanted; `section` is the target's own table. */
function existingSetup(name, target, account, section) {
  return `version = 1
name = "${name}"
target = "${target}"

[octopus]
space = "Default"

[scope]
projects = ["*"]
environments = ["production"]
runbooks = ["*"]

[subject_keys]
deployment = ["space", "tenant", "environment"]

[account]
name = "${account}"

${section}`;
}

/** The pick screen's radio button of the account named `name`. */
function accountButton(browser, name) {
  return browser.$(`//button[@role="radio"][.//span[contains(@class,"name") and text()="${name}"]]`);
}

/** Opens the saved setup `file` from Welcome (Sandbox mode), plans, applies and verifies it, and
 *  finishes back on Welcome. */
async function applySavedSetup(browser, file) {
  await waitTitle(browser, 'What do you want to set up?');
  await browser.$('#mode-sandbox').click();
  await browser.$('#open-path').setValue(file);
  await browser.$('#open-setup').click();
  const opened = await browser.$('#opened-setup');
  await opened.waitForDisplayed({ timeout: 30000, timeoutMsg: 'the setup did not open' });
  await browser.$('#open-plan').click();
  await waitTitle(browser, 'Review the plan');
  await browser.$('#plan').waitForDisplayed({ timeout: 30000, timeoutMsg: 'the engine did not plan' });
  await waitEnabled(browser, '#continue', 'the plan did not allow apply');
  await browser.$('#continue').click();
  await waitTitle(browser, 'Apply');
  await browser.$('#apply-start').click();
  await browser.$('#apply-done').waitForDisplayed({ timeout: 60000, timeoutMsg: 'apply did not finish' });
  await waitEnabled(browser, '#continue', 'apply did not allow verify');
  await browser.$('#continue').click();
  await waitTitle(browser, 'Verify');
  const verdict = await browser.$('#verify-verdict');
  await verdict.waitForDisplayed({ timeout: 90000, timeoutMsg: 'verify did not finish' });
  assert.match(await verdict.getText(), /Passed/, await browser.$('#verify-checks').getText());
  await waitEnabled(browser, '#continue', 'verify did not offer Done');
  await browser.$('#continue').click();
  await waitTitle(browser, 'Done');
  await browser.$('#finish').click();
  await waitTitle(browser, 'What do you want to set up?');
}

/** Signs in to the Sandbox's Azure from the pick screen with the browser, as `user` (default:
 *  the user the authorize page names, its administrator). */
async function signInToAzure(browser, user) {
  rmSync(SIGN_IN_URL_FILE, { force: true });
  await browser.$('#azure-sign-in').click();
  const address = await readSignInAddress(SIGN_IN_URL_FILE);
  const ca = await (await fetch(`${sandboxOctopusUrl}/_sandbox/ca.pem`)).text();
  const signedIn = await signInOnAuthorizePage(address, ca, { user });
  const status = await browser.$('#azure-signed-in');
  await status.waitUntil(async () => (await status.getText()).includes(`Signed in as ${signedIn.user}`), {
    timeout: 20000,
    timeoutMsg: `the app did not show the sign-in of ${signedIn.user}`,
  });
  return signedIn.user;
}

describe('verify an existing account in the Sandbox', () => {
  let app;
  let browser;

  before(async () => {
    mkdirSync(WORK, { recursive: true });
    writeFileSync(SETUP, existingSetup('qa-existing', 'aws', ACCOUNT, '[aws]\nrole_name = "octopus-qa-existing"\nregion = "eu-west-1"\n'));
    writeFileSync(
      AZURE_SETUP,
      existingSetup(
        'qa-existing-azure',
        'azure',
        AZURE_ACCOUNT,
        '[azure]\ntenant_id = "72f988bf-86f1-41af-91ab-2d7cd011db47"\nsubscription_id = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"\nrole = "Contributor"\n',
      ),
    );
    app = await openApp();
    browser = app.browser;
  });

  after(async () => {
    await app?.close();
  });

  it('creates an AWS and an Azure account in the Sandbox first (saved setups opened, planned and applied)', async () => {
    await applySavedSetup(browser, SETUP);
    await applySavedSetup(browser, AZURE_SETUP);
  });

  it('Welcome offers "Verify an existing account"; it starts with the Sandbox, already running', async () => {
    const choice = await browser.$('#verify-existing');
    await choice.scrollIntoView({ block: 'center' });
    assert.ok(await choice.isDisplayed());
    await screenshot(browser, 'verify-01-welcome');
    await choice.click();
    await waitTitle(browser, 'The built-in Sandbox');
    assert.match(await browser.$('[aria-current="step"]').getText(), /Start the Sandbox/);
    const labels = await browser.execute(() => [...document.querySelectorAll('nav[aria-label="Setup steps"] .label')].map((e) => e.textContent));
    assert.deepEqual(labels, ['Welcome', 'Start the Sandbox', 'Pick the account', 'Verify']);
    await waitEnabled(browser, '#continue', 'the running Sandbox did not complete the step');
    // What this flow uses: the accounts and the clouds they can point at, no GitHub stand-in.
    const standIns = await browser.$('.stand-ins').getText();
    assert.match(standIns, /the OIDC accounts to verify/);
    for (const cloud of [/AWS IAM/, /Entra ID/, /Google IAM/]) assert.match(standIns, cloud);
    assert.doesNotMatch(standIns, /GitHub/);
    assert.equal(await browser.$('#endpoint-github').isExisting(), false, 'no GitHub issuer endpoint');
    assert.ok(await browser.$('#endpoint-aws').isExisting(), 'the AWS endpoint is listed');
    sandboxOctopusUrl = await browser.$('#endpoint-octopus').getText();
    await screenshot(browser, 'verify-02-sandbox');
  });

  it('lists the space\'s OIDC accounts with their type; Continue waits for a pick', async () => {
    await browser.$('#continue').click();
    await waitTitle(browser, 'Which account?');
    const list = await browser.$('#oidc-accounts');
    await list.waitForDisplayed({ timeout: 20000, timeoutMsg: 'the accounts did not load' });
    const text = await list.getText();
    assert.match(text, new RegExp(`${ACCOUNT.replace(/[()]/g, '\\$&')}\\s+AWS OIDC\\s+Accounts-\\d+`));
    assert.equal(await browser.$('#continue').isEnabled(), false, 'Continue waits for a pick');
    assert.match(await browser.$('#next-reason').getText(), /Pick an OIDC account/);
    const account = await accountButton(browser, ACCOUNT);
    await account.click();
    assert.equal(await account.getAttribute('aria-checked'), 'true');
    await waitEnabled(browser, '#continue', 'picking the account did not enable Continue');
    await screenshot(browser, 'verify-03-pick-account');
  });

  it('verifies the account: a clear pass with the account test, read from the account', async () => {
    await browser.$('#continue').click();
    await waitTitle(browser, 'Verify');
    assert.match(await browser.$('#verify-subject').getText(), new RegExp(`${ACCOUNT.replace(/[()]/g, '\\$&')} \\(AWS OIDC, Accounts-\\d+\\)`));
    const verdict = await browser.$('#verify-verdict');
    await verdict.waitForDisplayed({ timeout: 90000, timeoutMsg: 'verify did not finish' });
    assert.match(await verdict.getText(), /Passed/);
    const checks = await browser.$('#verify-checks').getText();
    assert.match(checks, /Account test/);
    assert.match(checks, /the role arn:aws:iam::\d{12}:role\/octopus-qa-existing exists/);
    assert.match(checks, /carries the mark of the octo-oidc setup 'qa-existing'/);
    assert.equal(await browser.$('#continue').isEnabled(), false, 'Verify is the last step here');
    await screenshot(browser, 'verify-04-verify');
  });

  it('verifies an Azure account as the user signed in on the pick screen (the browser sign-in)', async () => {
    await browser.$('#back').click();
    await waitTitle(browser, 'Which account?');
    await (await browser.$('#oidc-accounts')).waitForDisplayed({ timeout: 20000, timeoutMsg: 'the accounts did not load' });
    await (await accountButton(browser, AZURE_ACCOUNT)).click();
    // An Azure account offers the cloud's sign-in, as "Connect the cloud" does.
    assert.equal(await browser.$('input[name="azure-sign-in"][value="browser"]').isSelected(), true, 'the browser is the default');
    assert.match(await browser.$('#account-cloud-note').getText(), /as the sign-in made in this window/);
    const user = await signInToAzure(browser);
    await waitEnabled(browser, '#continue', 'picking the Azure account did not enable Continue');
    await screenshot(browser, 'verify-05-pick-azure-signed-in');
    await browser.$('#continue').click();
    await waitTitle(browser, 'Verify');
    assert.match(await browser.$('#verify-subject').getText(), /QA existing Azure \(OIDC\) \(Azure OIDC, Accounts-\d+\)/);
    const verdict = await browser.$('#verify-verdict');
    await verdict.waitForDisplayed({ timeout: 90000, timeoutMsg: 'verify of the Azure account did not finish' });
    assert.match(await verdict.getText(), /Passed/, await browser.$('#verify-checks').getText());
    assert.match(await browser.$('#verify-checks').getText(), /the app registration 'octo-oidc-qa-existing-azure' \([0-9a-f-]{36}\) exists/);
    await screenshot(browser, 'verify-06-verify-azure');

    // Back on the pick screen, the account and the sign-in are as they were.
    await browser.$('#back').click();
    await waitTitle(browser, 'Which account?');
    const again = await accountButton(browser, AZURE_ACCOUNT);
    await again.waitForDisplayed({ timeout: 20000, timeoutMsg: 'the accounts did not load again' });
    assert.equal(await again.getAttribute('aria-checked'), 'true');
    assert.match(await browser.$('#azure-signed-in').getText(), new RegExp(`Signed in as ${user.replace(/[.]/g, '\\.')}`));
    assert.match(await browser.$('#azure-sign-in').getText(), /Sign in again/);
    await waitEnabled(browser, '#continue', 'the kept pick did not enable Continue');
    await browser.$('#continue').click();
    await waitTitle(browser, 'Verify');
  });

  it('Back walks the flow back to Welcome', async () => {
    await browser.$('#back').click();
    await waitTitle(browser, 'Which account?');
    await browser.$('#back').click();
    await waitTitle(browser, 'The built-in Sandbox');
    await browser.$('#back').click();
    await waitTitle(browser, 'What do you want to set up?');
    assert.ok(await browser.$('#verify-existing').isDisplayed());
  });
});

