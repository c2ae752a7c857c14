// "Connect the cloud" (screen 3) in the Sandbox, keyboard first: Azure sign-in and the tenant,
// subscription and role pickers filled from the Sandbox's ARM; AWS connected to the Sandbox's
// account (id from GetCallerIdentity) with a managed policy searched from ListPolicies; GitHub's
// issuer choice, service account and team pickers from the Sandbox's Octopus. One bad-input
// check per form. Screenshots: target/e2e-screenshots/<flow>-<nn>-connect-cloud-<what>.png.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { openAppForSuite, screenshot, waitEnabled, waitTitle } from './harness.mjs';

describe('Connect Azure in the Sandbox: sign in, then pick from the live account', () => {
  let browser;
  openAppForSuite((opened) => {
    browser = opened;
  });

  it('refuses a bad tenant id as typed, then signs in and picks tenant, subscription and role by keyboard', async () => {
    await toConnectCloud(browser, 'azure', 'Connect Azure');
    await browser.$('#azure-tenant-id').setValue('not-a-guid');
    await waitNote(browser, '#azure-tenant-id-note', /GUID/, 'no tenant id error');
    assert.equal(await browser.$('#continue').isEnabled(), false, 'Continue is disabled on a bad tenant id');
    assert.match(await browser.$('#next-reason').getText(), /^Tenant id: /);
    await screenshot(browser, 'azure-03-connect-cloud-errors');

    await browser.$('input[name="azure-sign-in"][value="servicePrincipal"]').click();
    await browser.$('#azure-sign-in').click();
    const status = await browser.$('#azure-signed-in');
    await status.waitUntil(async () => /Signed in/.test(await status.getText()), {
      timeout: 20000,
      timeoutMsg: 'the Sandbox sign-in did not finish',
    });

    const tenant = await pickFirst(browser, 'azure-tenant-id');
    assert.match(tenant, /^[0-9a-f-]{36}$/, `the tenant picker stored ${tenant}`);
    const subscription = await pickFirst(browser, 'azure-subscription-id');
    assert.match(subscription, /^[0-9a-f-]{36}$/, `the subscription picker stored ${subscription}`);

    // The role: type to search the role definitions, arrow down, Enter.
    const role = await browser.$('#azure-role');
    await role.click();
    await role.setValue('Reader');
    await waitOptions(browser, 'azure-role');
    await browser.keys(['ArrowDown']);
    await browser.keys(['Enter']);
    await role.waitUntil(async () => (await role.getValue()) === 'Reader', { timeout: 5000, timeoutMsg: 'Reader was not chosen' });
    await waitEnabled(browser, '#continue', 'the picked Azure settings did not enable Continue');
    await screenshot(browser, 'azure-03-connect-cloud-signed-in');
  });
});

describe('Connect AWS in the Sandbox: the account id and the managed policies from the account', () => {
  let browser;
  openAppForSuite((opened) => {
    browser = opened;
  });

  it('refuses a bad region as typed, then connects, shows the account id and searches a policy', async () => {
    await toConnectCloud(browser, 'aws', 'Connect AWS');
    await browser.$('#aws-region').setValue('Europe');
    await waitNote(browser, '#aws-region-note', /region/, 'no region error');
    assert.match(await browser.$('#next-reason').getText(), /^Region: /);
    await screenshot(browser, 'aws-05-connect-cloud-region-error');
    await browser.$('#aws-region').setValue('eu-west-1');

    await browser.$('#aws-connect').click();
    const account = await browser.$('#aws-account');
    await account.waitUntil(async () => /Account \d{12}/.test(await account.getText()), {
      timeout: 20000,
      timeoutMsg: 'no AWS account id shown',
    });
    const search = await browser.$('#aws-managed-policies-search');
    await search.waitForExist({ timeout: 10000, timeoutMsg: 'the policy list did not load' });
    await search.setValue('ReadOnlyAccess');
    const box = await browser.$('input[data-slug="arn:aws:iam::aws:policy/ReadOnlyAccess"]');
    await box.waitForExist({ timeout: 5000, timeoutMsg: 'ReadOnlyAccess not found by search' });
    await box.click();
    const count = await browser.$('#aws-managed-policies-count');
    await count.waitUntil(async () => /^1 of \d+ selected$/.test(await count.getText()), { timeout: 5000 });
    await waitEnabled(browser, '#continue', 'the AWS settings did not enable Continue');
    await screenshot(browser, 'aws-06-connect-cloud-account');
  });
});

describe('Repository and service account in the Sandbox: issuers, service accounts and teams from Octopus', () => {
  let browser;
  openAppForSuite((opened) => {
    browser = opened;
  });

  it('refuses a bad Enterprise Server host, then picks a team from Octopus by keyboard', async () => {
    await toConnectCloud(browser, 'github', 'Repository and service account');
    await browser.$('#github-repository').setValue('acme/shop');
    await browser.$('#github-issuer-kind').selectByAttribute('value', 'ghes');
    const host = await browser.$('#github-enterprise-host');
    await host.waitForExist({ timeout: 5000 });
    await host.setValue('not a host');
    await waitNote(browser, '#github-enterprise-host-note', /./, 'no issuer error');
    assert.match(await browser.$('#next-reason').getText(), /^Issuer: /);
    await screenshot(browser, 'github-02-connect-cloud-issuer-error');
    await host.setValue('github.example.com');
    await waitEnabled(browser, '#continue', 'a valid Enterprise Server host did not enable Continue');

    const team = await pickFirst(browser, 'github-team');
    assert.ok(team.length > 0, 'no team chosen');
    await browser.$('#github-service-account').click();
    await browser.$('#github-service-account').setValue('github-e2e');
    const note = await browser.$('#github-service-account-note');
    await note.waitUntil(async () => /new service account/i.test(await note.getText()), { timeout: 5000 });
    await waitEnabled(browser, '#continue', 'the CI settings did not enable Continue');
    await screenshot(browser, 'github-03-connect-cloud-pickers');
  });
});

/** Welcome → Sandbox (started) → screen 3 for `target`. */
async function toConnectCloud(browser, target, title) {
  await browser.$(`#target-${target}`).click();
  await browser.$('#mode-sandbox').click();
  await browser.$('#continue').click();
  await waitTitle(browser, 'The built-in Sandbox');
  await browser.$('#start-sandbox').click();
  await waitEnabled(browser, '#continue', 'the Sandbox did not start and connect');
  await browser.$('#continue').click();
  await waitTitle(browser, title);
}

/** Focuses a picker, takes its first option with the keyboard, returns what it stored. */
async function pickFirst(browser, id) {
  const input = await browser.$(`#${id}`);
  await input.click();
  await waitOptions(browser, id);
  const value = await browser.$(`#${id}-option-0`).getAttribute('data-value');
  await browser.keys(['ArrowDown']);
  await browser.keys(['Enter']);
  await browser.$(`#${id}-options`).waitForExist({ reverse: true, timeout: 5000, timeoutMsg: `${id} stayed open` });
  return value;
}

async function waitOptions(browser, id) {
  await browser.$(`#${id}-option-0`).waitForExist({ timeout: 15000, timeoutMsg: `${id} offered no options` });
}

async function waitNote(browser, selector, pattern, message) {
  const note = await browser.$(selector);
  await note.waitUntil(async () => pattern.test(await note.getText()) && (await note.$('.problem').isExisting()), {
    timeout: 5000,
    timeoutMsg: message,
  });
}
