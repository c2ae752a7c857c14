// Unit tests of list filtering and the virtual window; the one-keystroke timing is a benchmark
// (search.bench.ts, `make bench-filter`).
import { describe, expect, it } from 'vitest';
import { filterIndex, searchIndex, visibleWindow } from './search';

function projects(count: number): { name: string; slug: string }[] {
  return Array.from({ length: count }, (_, i) => ({ name: `Project ${i} of team ${i % 97}`, slug: `project-${i}` }));
}

describe('filtering a list', () => {
  it('matches names and slugs, case-insensitively, every word', () => {
    const index = searchIndex([
      { name: 'Web Shop', slug: 'web-shop' },
      { name: 'API', slug: 'api' },
      { name: 'Shop admin', slug: 'admin' },
    ]);
    expect(filterIndex(index, 'shop')).toEqual([0, 2]);
    expect(filterIndex(index, 'SHOP web')).toEqual([0]);
    expect(filterIndex(index, 'api')).toEqual([1]);
    expect(filterIndex(index, '  ')).toEqual([0, 1, 2]);
    expect(filterIndex(index, 'nothing')).toEqual([]);
    expect(filterIndex(index, 'shop a', [0, 2])).toEqual([2]);
  });

  it('filters 10,000 projects as each keystroke of a query is typed', () => {
    const items = projects(10_000);
    const index = searchIndex(items);
    // The reference: every word in the name or in the slug, item by item.
    const expected = (query: string): number[] => {
      const words = query.toLowerCase().split(' ').filter((w) => w !== '');
      return items.flatMap((item, i) => (words.every((w) => item.name.toLowerCase().includes(w) || item.slug.includes(w)) ? [i] : []));
    };
    const query = 'project 12 of team 3';
    for (let length = 1; length <= query.length; length += 1) {
      expect(filterIndex(index, query.slice(0, length))).toEqual(expected(query.slice(0, length)));
    }
    expect(filterIndex(index, 'project-9999')).toEqual([9999]);
    expect(filterIndex(index, 'TEAM 96 project-96')).toEqual(expected('team 96 project-96'));
  });
});

describe('the virtual window', () => {
  it('renders only the visible rows plus the overscan', () => {
    expect(visibleWindow(0, 320, 32, 10_000)).toEqual({ start: 0, end: 16 });
    expect(visibleWindow(3200, 320, 32, 10_000)).toEqual({ start: 94, end: 116 });
    expect(visibleWindow(320_000, 320, 32, 10_000)).toEqual({ start: 9994, end: 10_000 });
    expect(visibleWindow(0, 320, 32, 3)).toEqual({ start: 0, end: 3 });
  });
});
