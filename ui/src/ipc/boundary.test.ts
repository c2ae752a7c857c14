// Architecture check: only ui/src/ipc/ may import @tauri-apps/api (the one client seam).
import { describe, expect, it } from 'vitest';

const sources = import.meta.glob<string>(['../**/*.ts', '../**/*.svelte', '!../**/*.test.ts'], {
  query: '?raw',
  import: 'default',
  eager: true,
});

describe('the IPC boundary', () => {
  it('sees the UI sources', () => {
    const paths = Object.keys(sources);
    expect(paths.some((path) => path.endsWith('/App.svelte'))).toBe(true);
    expect(paths.some((path) => path === './client.ts')).toBe(true);
  });

  it('keeps @tauri-apps/api inside ui/src/ipc', () => {
    const offenders = Object.entries(sources)
      .filter(([path]) => !path.startsWith('./') && !path.includes('/ipc/'))
      .filter(([, text]) => text.includes('@tauri-apps/api'))
      .map(([path]) => path);
    expect(offenders).toEqual([]);
  });
});
