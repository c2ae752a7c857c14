// Style check: every font size in the UI is one of app.css's `--font-size-*` steps and every
// weight 400, 600 or 700. Each other size or weight on a screen is one more font WebKit sets up
// before that screen's first layout (README, Benchmarks: "Type scale"), so a stray `13.5px`
// costs start-up time without anyone seeing why.
import { describe, expect, it } from 'vitest';

const sources = import.meta.glob<string>(['./**/*.svelte', './**/*.css', '../index.html'], {
  query: '?raw',
  import: 'default',
  eager: true,
});

const appCss = sources['./app.css'] ?? '';
const scale = new Set([...appCss.matchAll(/--font-size-([a-z]+)\s*:/g)].map((m) => m[1]));
const weights = new Set(['400', '600', '700']);

/** `font-size`, `font-weight` and `font` declarations (custom properties excluded), per file. */
function declarations(): { path: string; property: string; value: string }[] {
  const found = [];
  for (const [path, text] of Object.entries(sources)) {
    for (const m of text.matchAll(/(?<![\w-])(font-size|font-weight|font)\s*:\s*([^;}"]+)/g)) {
      found.push({ path, property: m[1] ?? '', value: (m[2] ?? '').trim() });
    }
  }
  return found;
}

function allowed(property: string, value: string): boolean {
  if (value === 'inherit') return true;
  if (property === 'font-weight') return weights.has(value);
  if (property === 'font-size') {
    const step = /^var\(--font-size-([a-z]+)\)$/.exec(value)?.[1];
    return step !== undefined && scale.has(step);
  }
  return false; // the `font` shorthand sets a size and weight of its own unless it inherits
}

describe('the type scale', () => {
  it('is defined in app.css and the check sees the styles', () => {
    expect([...scale].sort()).toEqual(['body', 'control', 'heading', 'secondary', 'small', 'title']);
    expect(declarations().filter((d) => d.property === 'font-size').length).toBeGreaterThan(50);
  });

  it('is the only source of font sizes and weights', () => {
    const offenders = declarations()
      .filter((d) => !allowed(d.property, d.value))
      .map((d) => `${d.path}: ${d.property}: ${d.value}`);
    expect(offenders).toEqual([]);
  });

  it('rejects what it should', () => {
    expect(allowed('font-size', '13.5px')).toBe(false);
    expect(allowed('font-size', 'var(--font-size-huge)')).toBe(false);
    expect(allowed('font-weight', '650')).toBe(false);
    expect(allowed('font', '600 14px sans-serif')).toBe(false);
    expect(allowed('font-size', 'var(--font-size-small)')).toBe(true);
  });
});
