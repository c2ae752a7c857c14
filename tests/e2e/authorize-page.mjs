// The E2E tests' stand-in for the system browser in the Sandbox's Azure sign-in. The app,
// started with OCTO_OIDC_SIGN_IN_URL_FILE, writes the authorize address it would open to that
// file (only in Sandbox mode; see crates/app/src/sign_in_address_file.rs). This module reads
// it, fetches the Sandbox's authorize page over HTTPS trusting only the Sandbox's CA (served
// at /_sandbox/ca.pem), submits its sign-in form as a user would, and follows the redirect to
// the app's loopback listener. Every address must be on the loopback interface.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

function loopbackOnly(url) {
  assert.ok(LOOPBACK.has(url.hostname), `${url.href} is not a loopback address`);
  return url;
}

/** Waits for the app to write the sign-in address (one `AZURE_SIGN_IN_URL=…` line). */
export async function readSignInAddress(file, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // Not written yet.
    }
    const match = /^AZURE_SIGN_IN_URL=(\S+)\n$/.exec(text);
    if (match !== null) return loopbackOnly(new URL(match[1]));
    await sleep(100);
  }
  throw new Error(`the app wrote no sign-in address to ${file} within ${timeoutMs} ms`);
}

/** One request, no redirect followed: `{ status, headers, body }`. */
function request(url, { method = 'GET', ca, form, host } = {}) {
  loopbackOnly(url);
  const body = form === undefined ? undefined : new URLSearchParams(form).toString();
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      url,
      {
        method,
        // https: the Sandbox's CA and nothing else (the default trust store is replaced).
        ...(url.protocol === 'https:' ? { ca, rejectUnauthorized: true } : {}),
        // The loopback listener binds 127.0.0.1; a browser would send the redirect's own host.
        ...(host === undefined ? {} : { hostname: '127.0.0.1', headers: { host } }),
        ...(body === undefined
          ? {}
          : { headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } }),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.setTimeout(15000, () => req.destroy(new Error(`${method} ${url.href} timed out`)));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function unescapeHtml(text) {
  return text
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

/** The sign-in form of the page: its action and hidden fields, and the Sandbox's user hint. */
export function parseSignInPage(html) {
  const form = /<form method="post" action="([^"]*)">([\s\S]*?)<\/form>/.exec(html);
  assert.ok(form !== null, `no sign-in form on the authorize page: ${html.slice(0, 300)}`);
  const fields = {};
  for (const input of form[2].matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
    fields[unescapeHtml(input[1])] = unescapeHtml(input[2]);
  }
  const hint = /id="sandbox-user">[^<]*<code>([^<]*)<\/code>[^<]*<code>([^<]*)<\/code>/.exec(html);
  assert.ok(hint !== null, 'the Sandbox page names its user');
  return { action: unescapeHtml(form[1]), fields, user: unescapeHtml(hint[1]), password: unescapeHtml(hint[2]) };
}

/**
 * Signs in on the Sandbox's authorize page at `address` (trusting `ca` only) as the user it
 * names — or as `user`, another of the Sandbox's demo users (they share the demo password the
 * page names) — and follows the redirect to the app's loopback listener. Returns what was
 * seen: `{ page, redirect, landed, user }` (the authorize page's HTML, the redirect URL, the
 * listener's answer, who signed in).
 */
export async function signInOnAuthorizePage(address, ca, { user } = {}) {
  const page = await request(address, { ca });
  assert.equal(page.status, 200, `the authorize page answered ${page.status}: ${page.body.slice(0, 300)}`);
  const form = parseSignInPage(page.body);
  // The app's request: auth code + PKCE (S256) with a state.
  assert.equal(form.fields.response_type, 'code');
  assert.equal(form.fields.code_challenge_method, 'S256');
  assert.ok(form.fields.code_challenge?.length >= 43, 'a PKCE challenge');
  assert.ok(form.fields.state?.length > 0, 'a state');
  const submitted = await request(new URL(form.action, address), {
    method: 'POST',
    ca,
    form: { ...form.fields, username: user ?? form.user, password: form.password },
  });
  assert.equal(submitted.status, 302, `the sign-in was not accepted: ${submitted.body.slice(0, 300)}`);
  const redirect = loopbackOnly(new URL(submitted.headers.location));
  assert.equal(redirect.protocol, 'http:');
  assert.equal(redirect.searchParams.get('state'), form.fields.state, 'the redirect carries the state');
  assert.ok(redirect.searchParams.get('code'), 'the redirect carries a code');
  const landed = await request(redirect, { host: redirect.host });
  assert.equal(landed.status, 200, `the app's listener answered ${landed.status}`);
  return { page: page.body, redirect, landed, user: user ?? form.user };
}
