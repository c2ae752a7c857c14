// Vite config for the wizard UI: Svelte 5, output to ui/dist (tauri.conf.json's frontendDist).
// No module-preload polyfill (it would be an inline script, which the CSP forbids).
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  server: { port: 5173, strictPort: true, host: '127.0.0.1' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'safari16',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  // css.include: a stylesheet read with ?raw is its text (the type-scale check), not vitest's empty stand-in.
  test: { include: ['src/**/*.test.ts'], environment: 'node', css: { include: [/\.css\?raw$/] } },
});
