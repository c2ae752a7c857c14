// Unit tests of the draft helpers: per-screen field errors, the Next reason, GitHub filters.
import { describe, expect, it } from 'vitest';
import { FORM_FIELDS, type UiError } from '../ipc/client';
import { cloudFields, errorsOn, initialDraft, joinFilter, reasonFrom, splitFilter, SCOPE_FIELDS } from './draft';

const error: UiError = {
  code: 'invalid_input',
  message: 'invalid',
  hint: null,
  fieldErrors: [
    { field: FORM_FIELDS.awsRoleName, problem: 'has a space', fix: 'Use letters.' },
    { field: FORM_FIELDS.scopeProjects, problem: 'is empty', fix: 'Choose one.' },
    { field: '(file)', problem: 'odd', fix: 'x' },
  ],
};

describe('the draft', () => {
  it('starts with names a first-time user can keep', () => {
    const draft = initialDraft('aws');
    expect(draft.target).toBe('aws');
    expect(draft.aws.roleName).toBe('octopus-deploy');
    expect(draft.subjectKeys.deployment).toBeNull();
  });

  it('gives each screen only its own field errors and a reason naming the field', () => {
    const cloud = errorsOn(error, cloudFields('aws'));
    expect(cloud.map((e) => e.field)).toEqual([FORM_FIELDS.awsRoleName]);
    expect(reasonFrom(cloud, { [FORM_FIELDS.awsRoleName]: 'Role name' })).toBe('Role name: has a space');
    expect(errorsOn(error, SCOPE_FIELDS).map((e) => e.field)).toEqual([FORM_FIELDS.scopeProjects]);
    expect(reasonFrom([], {})).toBeNull();
    expect(errorsOn(null, SCOPE_FIELDS)).toEqual([]);
  });

  it('splits and joins GitHub filters', () => {
    expect(splitFilter('branch:main')).toEqual({ kind: 'branch', value: 'main' });
    expect(splitFilter('pull_request')).toEqual({ kind: 'pull_request', value: '' });
    expect(splitFilter('tag:v*')).toEqual({ kind: 'tag', value: 'v*' });
    expect(joinFilter('environment', 'prod')).toBe('environment:prod');
    expect(joinFilter('pull_request', 'ignored')).toBe('pull_request');
  });
});
