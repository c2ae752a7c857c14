import { describe, expect, it } from 'vitest';
import { matchOptions, moveActive, textFor, valueFor, type PickerOption } from './picker';

const SUBSCRIPTIONS: PickerOption[] = [
  { value: '11111111-1111-1111-1111-111111111111', label: 'Production', detail: 'Enabled' },
  { value: '22222222-2222-2222-2222-222222222222', label: 'Development', detail: 'Enabled' },
  { value: '33333333-3333-3333-3333-333333333333', label: 'Sandbox', detail: 'Disabled' },
];

describe('matchOptions', () => {
  it('matches every word in label, value or detail, ignoring case', () => {
    expect(matchOptions(SUBSCRIPTIONS, 'prod').map((o) => o.label)).toEqual(['Production']);
    expect(matchOptions(SUBSCRIPTIONS, '2222').map((o) => o.label)).toEqual(['Development']);
    expect(matchOptions(SUBSCRIPTIONS, 'disabled').map((o) => o.label)).toEqual(['Sandbox']);
    expect(matchOptions(SUBSCRIPTIONS, 'enabled dev').map((o) => o.label)).toEqual(['Development']);
    expect(matchOptions(SUBSCRIPTIONS, 'nothing')).toEqual([]);
  });

  it('shows everything for an empty query, up to the limit', () => {
    expect(matchOptions(SUBSCRIPTIONS, '  ')).toHaveLength(3);
    expect(matchOptions(SUBSCRIPTIONS, '', 2)).toHaveLength(2);
  });

  it('finds one of 2,000 policies (the timing is picker.bench.ts)', () => {
    const policies = Array.from({ length: 2000 }, (_, i) => ({
      value: `arn:aws:iam::aws:policy/Policy${i}`,
      label: `Policy${i}`,
      detail: 'AWS managed',
    }));
    expect(matchOptions(policies, 'policy1999').map((o) => o.label)).toEqual(['Policy1999']);
    expect(matchOptions(policies, 'POLICY199 managed').map((o) => o.label)).toEqual(['Policy199', 'Policy1990', 'Policy1991', 'Policy1992', 'Policy1993', 'Policy1994', 'Policy1995', 'Policy1996', 'Policy1997', 'Policy1998', 'Policy1999']);
  });
});

describe('textFor and valueFor', () => {
  it('shows a chosen value by its label and keeps unknown values as they are', () => {
    expect(textFor(SUBSCRIPTIONS, '11111111-1111-1111-1111-111111111111')).toBe('Production');
    expect(textFor(SUBSCRIPTIONS, 'not-a-guid')).toBe('not-a-guid');
  });

  it('turns a typed label or value into the value, anything else stays typed', () => {
    expect(valueFor(SUBSCRIPTIONS, ' production ')).toBe('11111111-1111-1111-1111-111111111111');
    expect(valueFor(SUBSCRIPTIONS, '22222222-2222-2222-2222-222222222222')).toBe('22222222-2222-2222-2222-222222222222');
    expect(valueFor(SUBSCRIPTIONS, 'Staging ')).toBe('Staging');
    expect(valueFor(SUBSCRIPTIONS, '   ')).toBe('');
  });

  it('keeps an ambiguous name as typed, so validation names it', () => {
    const twins = [...SUBSCRIPTIONS, { value: '44444444-4444-4444-4444-444444444444', label: 'Production', detail: '' }];
    expect(valueFor(twins, 'Production')).toBe('Production');
  });
});

describe('moveActive', () => {
  it('wraps in both directions and starts at an end', () => {
    expect(moveActive(-1, 1, 3)).toBe(0);
    expect(moveActive(-1, -1, 3)).toBe(2);
    expect(moveActive(2, 1, 3)).toBe(0);
    expect(moveActive(0, -1, 3)).toBe(2);
    expect(moveActive(1, 1, 0)).toBe(-1);
  });
});
