// Unit tests of the draft helpers: per-screen field errors, the Next reason, GitHub filters.
import { describe, expect, it } from 'vitest';
import { FORM_FIELDS, type UiError } from '../ipc/client';
import { CI_ISSUERS, ciIssuerChoices, ciIssuerFor, cloudFields, errorsOn, initialDraft, issuerUrl, joinFilter, reasonFrom, splitFilter, SCOPE_FIELDS } from './draft';

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

describe('CI issuers', () => {
  it('builds GitHub Enterprise Server’s issuer from its host, however it was pasted', () => {
    expect(issuerUrl('ghes', 'github.example.com')).toBe('https://github.example.com/_services/token');
    expect(issuerUrl('ghes', ' https://github.example.com/ ')).toBe('https://github.example.com/_services/token');
  });

  it('uses the fixed issuers and keeps typed ones as typed', () => {
    expect(issuerUrl('github', 'ignored')).toBe('');
    expect(issuerUrl('gitlab', '')).toBe('https://gitlab.com');
    expect(issuerUrl('buildkite', '')).toBe('https://agent.buildkite.com');
    expect(issuerUrl('teamcity', ' https://teamcity.example.com ')).toBe('https://teamcity.example.com');
    expect(issuerUrl('custom', 'http://not-https.example.com')).toBe('http://not-https.example.com');
  });

  it('reads a saved issuer back into the same choice', () => {
    for (const choice of CI_ISSUERS) {
      const typed = choice.kind === 'ghes' ? 'ghe.acme.test' : 'https://ci.acme.test';
      const back = ciIssuerFor(issuerUrl(choice.kind, typed), choice.ci);
      expect(back.kind).toBe(choice.kind);
      if (choice.kind === 'ghes') expect(back.host).toBe('ghe.acme.test');
    }
    expect(ciIssuerFor('https://token.actions.githubusercontent.com').kind).toBe('github');
  });

  it('offers the Sandbox\'s own GitHub issuer first in Sandbox mode only, and reads it back', () => {
    expect(ciIssuerChoices(false)).toEqual(CI_ISSUERS);
    const sandbox = ciIssuerChoices(true);
    expect(sandbox[0]).toMatchObject({ kind: 'sandbox', ci: 'github', issuer: null });
    expect(sandbox.slice(1)).toEqual(CI_ISSUERS);
    // Its URL is the running Sandbox's, as given.
    expect(issuerUrl('sandbox', ' https://github.sandbox.localhost ')).toBe('https://github.sandbox.localhost');
    // A fresh draft in Sandbox mode starts on it; a saved one reads back to it.
    expect(ciIssuerFor('', '', true).kind).toBe('sandbox');
    expect(ciIssuerFor('https://github.sandbox.localhost', 'github', true).kind).toBe('sandbox');
    // Other issuers keep their choice in Sandbox mode too.
    expect(ciIssuerFor('https://github.example.com/_services/token', 'github', true)).toEqual({ kind: 'ghes', host: 'github.example.com' });
    expect(ciIssuerFor('https://gitlab.com', 'gitlab', true).kind).toBe('gitlab');
    expect(ciIssuerFor('https://token.actions.githubusercontent.com', 'github', true).kind).toBe('github');
    // Outside the Sandbox an unset issuer is GitHub.com's.
    expect(ciIssuerFor('', '', false).kind).toBe('github');
  });

  it('shows the issuer, subject and CI fields on the GitHub screen', () => {
    const fields: readonly string[] = cloudFields('github');
    for (const field of [FORM_FIELDS.githubIssuer, FORM_FIELDS.githubSubject, FORM_FIELDS.githubCi]) {
      expect(fields).toContain(field);
    }
    expect(initialDraft('github').github).toMatchObject({ issuer: '', subject: '', ci: '' });
  });
});
