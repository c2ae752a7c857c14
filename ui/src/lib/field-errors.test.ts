// Unit tests of the field-error helpers.
import { describe, expect, it } from 'vitest';
import type { UiError } from '../ipc/client';
import { errorFor, unattributedMessage } from './field-errors';

const invalid: UiError = {
  code: 'invalid_input',
  message: '2 fields are invalid',
  hint: 'Fix the listed fields and try again; nothing was changed.',
  fieldErrors: [
    { field: 'octopus.server_url', problem: 'The server URL is empty.', fix: 'Enter it.' },
    { field: 'octopus.api_key', problem: 'The API key is empty.', fix: 'Create one.' },
  ],
};

describe('field errors', () => {
  it('finds the error of a field', () => {
    expect(errorFor(invalid, 'octopus.api_key')?.problem).toBe('The API key is empty.');
    expect(errorFor(invalid, 'other')).toBeUndefined();
    expect(errorFor(null, 'octopus.api_key')).toBeUndefined();
  });

  it('shows the message only when some problem is not on a shown field', () => {
    expect(unattributedMessage(invalid, ['octopus.server_url', 'octopus.api_key'])).toBeNull();
    expect(unattributedMessage(invalid, ['octopus.server_url'])).toBe('2 fields are invalid');
    const remote: UiError = { code: 'remote_unavailable', message: 'Connection refused', hint: null, fieldErrors: [] };
    expect(unattributedMessage(remote, ['octopus.server_url'])).toBe('Connection refused');
  });
});
