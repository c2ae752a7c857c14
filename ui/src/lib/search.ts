// Filtering long lists as the user types: each item's searchable text is lower-cased once
// (`searchIndex`), so one keystroke is a single pass of `includes` over plain strings — fast
// enough for 10,000 projects within one frame (search.bench.ts measures it: `make bench-filter`).

export interface Searchable {
  readonly name: string;
  readonly slug: string;
}

/** The lower-cased text each item is searched by, computed once per list. */
export function searchIndex(items: readonly Searchable[]): string[] {
  return items.map((item) => `${item.name}\u0000${item.slug}`.toLowerCase());
}

/** The positions of the items whose name or slug contains every word of `query`. With
 *  `within` (the matches of a query this one extends, as when typing one more letter) only
 *  those positions are looked at. */
export function filterIndex(index: readonly string[], query: string, within?: readonly number[]): number[] {
  const words = query.toLowerCase().split(/\s+/).filter((word) => word.length > 0);
  const matches: number[] = [];
  const count = within === undefined ? index.length : within.length;
  for (let n = 0; n < count; n += 1) {
    const i = within === undefined ? n : (within[n] ?? 0);
    const text = index[i] ?? '';
    let all = true;
    for (const word of words) {
      if (!text.includes(word)) {
        all = false;
        break;
      }
    }
    if (all) matches.push(i);
  }
  return matches;
}

/** The rows a virtualised list renders: the visible window plus `overscan` rows each side. */
export function visibleWindow(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  total: number,
  overscan = 6,
): { start: number; end: number } {
  const first = Math.floor(scrollTop / rowHeight);
  const count = Math.ceil(viewportHeight / rowHeight);
  return { start: Math.max(0, first - overscan), end: Math.min(total, first + count + overscan) };
}
