// The IPC seam: values pass through, UiErrors pass through, every other rejection is `internal`.
import { beforeEach, describe, expect, it, vi } from 'vitest';

const invoke = vi.hoisted(() => vi.fn());
vi.mock('@tauri-apps/api/core', () => ({ invoke }));

import { call, ERROR_CODES, isUiError, type UiError } from './client';

const invalid: UiError = {
  code: 'invalid_input',
  message: 'octopus.server_url: Plain http would send your API key unencrypted.',
  hint: 'Fix the listed fields and try again; nothing was changed.',
  fieldErrors: [{ field: 'octopus.server_url', problem: 'Plain http…', fix: 'Use https://' }],
};

describe('call', () => {
  beforeEach(() => invoke.mockReset());

  it('returns the value of a command that succeeded, with its arguments passed on', async () => {
    invoke.mockResolvedValueOnce({ serverUrl: 'https://example.octopus.app' });
    const outcome = await call('checkConnectForm', { serverUrl: 'https://Example.octopus.app/', apiKey: 'API-X' });
    expect(outcome).toEqual({ ok: true, value: { serverUrl: 'https://example.octopus.app' } });
    expect(invoke).toHaveBeenCalledWith('check_connect_form', {
      form: { serverUrl: 'https://Example.octopus.app/', apiKey: 'API-X' },
    });
  });

  it('passes a UiError from the command through unchanged', async () => {
    invoke.mockRejectedValueOnce(invalid);
    expect(await call('connectOctopus', { serverUrl: 'http://127.evil.test', apiKey: 'API-X' })).toEqual({
      ok: false,
      error: invalid,
    });
  });

  it('turns an ACL denial (a plain string) into internal', async () => {
    invoke.mockRejectedValueOnce('Command stop_sandbox not allowed by ACL');
    const outcome = await call('stopSandbox');
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.code).toBe('internal');
    expect(outcome.error.message).toContain('not allowed by ACL');
    expect(outcome.error.fieldErrors).toEqual([]);
  });

  it('turns a bad-argument rejection, an unknown code and a thrown Error into internal', async () => {
    invoke.mockRejectedValueOnce('invalid args `serverUrl` for command `sign_out`: missing field');
    invoke.mockRejectedValueOnce({ code: 'no_such_code', message: 'x', hint: null, fieldErrors: [] });
    invoke.mockRejectedValueOnce(new Error('window.__TAURI_INTERNALS__ is undefined'));
    for (const expected of ['missing field', 'unknown failure', '__TAURI_INTERNALS__']) {
      const outcome = await call('signOut', 'https://example.octopus.app');
      expect(outcome.ok).toBe(false);
      if (outcome.ok) return;
      expect(outcome.error.code).toBe('internal');
      expect(outcome.error.message).toContain(expected);
    }
  });
});

describe('isUiError', () => {
  it('knows every generated error code', () => {
    for (const code of ERROR_CODES) {
      expect(isUiError({ code, message: 'm', hint: null, fieldErrors: [] })).toBe(true);
    }
    expect(isUiError({ code: 'internal', message: 'm' })).toBe(false);
    expect(isUiError(null)).toBe(false);
    expect(isUiError('internal')).toBe(false);
  });
});
