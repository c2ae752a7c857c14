// The IPC seam: values pass through, UiErrors pass through, every other rejection is `internal`.
import { beforeEach, describe, expect, it, vi } from 'vitest';

const invoke = vi.hoisted(() => vi.fn());
// A stand-in for Tauri's Channel: the desktop app delivers each message to `onmessage`.
const FakeChannel = vi.hoisted(
  () =>
    class FakeChannel<T> {
      id = 42;
      onmessage: (message: T) => void = () => {};
      toJSON(): string {
        return `__CHANNEL__:${this.id}`;
      }
    },
);
vi.mock('@tauri-apps/api/core', () => ({ invoke, Channel: FakeChannel }));

import { call, ERROR_CODES, eventChannel, isUiError, type RunEvent, type UiError } from './client';

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

describe('eventChannel', () => {
  beforeEach(() => invoke.mockReset());

  it('is passed to a streaming command, whose events reach the handler in order', async () => {
    const seen: RunEvent[] = [];
    const channel = eventChannel<RunEvent>((event) => seen.push(event));
    const deliver = (channel as unknown as { onmessage: (m: RunEvent) => void }).onmessage;
    invoke.mockImplementationOnce(async () => {
      deliver({ kind: 'info', message: 'one' });
      deliver({ kind: 'step', index: 0, resource: 'iam_role', name: 'r', action: 'create', status: 'started', detail: null });
      return { complete: true };
    });
    const outcome = await call('applySetup', { kind: 'file', path: '/tmp/s.toml' }, true, channel);
    expect(outcome).toEqual({ ok: true, value: { complete: true } });
    expect(invoke).toHaveBeenCalledWith('apply_setup', {
      source: { kind: 'file', path: '/tmp/s.toml' },
      ignorePreflight: true,
      onEvent: channel,
    });
    expect(seen.map((e) => e.kind)).toEqual(['info', 'step']);
  });

  it('keeps delivering after a handler throws', () => {
    const seen: string[] = [];
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const channel = eventChannel<string>((event) => {
      if (event === 'bad') throw new Error('boom');
      seen.push(event);
    });
    const deliver = (channel as unknown as { onmessage: (m: string) => void }).onmessage;
    deliver('bad');
    deliver('good');
    expect(seen).toEqual(['good']);
    expect(errors).toHaveBeenCalledOnce();
    errors.mockRestore();
  });

  it('a failed streaming command is a UiError like any other', async () => {
    invoke.mockRejectedValueOnce({ code: 'conflict', message: 'Another apply is still running.', hint: null, fieldErrors: [] });
    const outcome = await call('teardownSetup', { kind: 'file', path: 'x' }, eventChannel(() => {}));
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.code).toBe('conflict');
  });
});
