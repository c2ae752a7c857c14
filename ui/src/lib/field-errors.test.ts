// Unit tests of the field-error helpers.
import { describe, expect, it } from 'vitest';
import { FORM_FIELDS, type UiError } from '../ipc/client';
import { errorFor, unattributedMessage } from './field-errors';

const { octopusServerUrl, octopusApiKey } = FORM_FIELDS;

const invalid: UiError = {
  code: 'invalid_input',
  message: '2 fields are invalid',
  hint: 'Fix the listed fields and try again; nothing was changed.',
  fieldErrors: [
    { field: octopusServerUrl, problem: 'The server URL is empty.', fix: 'Enter it.' },
    { field: octopusApiKey, problem: 'The API key is empty.', fix: 'Create one.' },
  ],
};

describe('field errors', () => {
  it('the generated field ids are the ones the Rust validation reports', () => {
    expect(octopusServerUrl).toBe('octopus.server_url');
    expect(octopusApiKey).toBe('octopus.api_key');
  });

  it('finds the error of a field', () => {
    expect(errorFor(invalid, octopusApiKey)?.problem).toBe('The API key is empty.');
    const onlyUrl: UiError = { ...invalid, fieldErrors: invalid.fieldErrors.slice(0, 1) };
    expect(errorFor(onlyUrl, octopusApiKey)).toBeUndefined();
    expect(errorFor(null, octopusApiKey)).toBeUndefined();
  });

  it('shows the message only when some problem is not on a shown field', () => {
    expect(unattributedMessage(invalid, [octopusServerUrl, octopusApiKey])).toBeNull();
    expect(unattributedMessage(invalid, [octopusServerUrl])).toBe('2 fields are invalid');
    const remote: UiError = { code: 'remote_unavailable', message: 'Connection refused', hint: null, fieldErrors: [] };
    expect(unattributedMessage(remote, [octopusServerUrl])).toBe('Connection refused');
  });
});
