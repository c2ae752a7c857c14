// WebDriver harness for the desktop app: starts tauri-driver (which drives WebKitWebDriver) on
// free loopback ports, opens a session on the release binary, and cleans everything up.
//
// Needs: APP_BIN (the built app), tauri-driver and WebKitWebDriver on PATH, and a display
// (run under `xvfb-run`). Session start is retried once: the very first WebKitWebDriver start
// on a cold machine has been seen to fail.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { remote } from 'webdriverio';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const SCREENSHOT_DIR = path.join(ROOT, 'target', 'e2e-screenshots');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`tauri-driver exited with ${child.exitCode}`);
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(100);
  }
  throw new Error(`tauri-driver did not listen on ${port} within ${timeoutMs} ms`);
}

// Signals tauri-driver's whole process group: WebKitWebDriver and every app window it started
// go with it, so no orphaned app keeps the test runner's output pipe open (which hangs the run).
function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

function stop(child) {
  return new Promise((resolve) => {
    const done = () => {
      signalGroup(child, 'SIGKILL');
      resolve();
    };
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', done);
    signalGroup(child, 'SIGTERM');
    setTimeout(() => signalGroup(child, 'SIGKILL'), 3000).unref();
  });
}

async function startOnce(application) {
  const port = await freePort();
  const nativePort = await freePort();
  const driver = spawn('tauri-driver', ['--port', String(port), '--native-port', String(nativePort)], {
    stdio: ['ignore', 'inherit', 'inherit'],
    // Its own process group, so `stop` can end the driver and everything it started.
    detached: true,
  });
  try {
    await waitForPort(port, driver, 15000);
    // tauri-driver listens at once but forwards the new-session request to WebKitWebDriver,
    // which it started beside itself and which may not listen yet (connection refused).
    await waitForPort(nativePort, driver, 15000);
    const browser = await remote({
      hostname: '127.0.0.1',
      port,
      logLevel: 'warn',
      connectionRetryCount: 0,
      capabilities: {
        'wdio:enforceWebDriverClassic': true,
        'tauri:options': { application },
      },
    });
    return { browser, driver };
  } catch (error) {
    await stop(driver);
    throw error;
  }
}

/** Opens the app in a WebDriver session; returns `{ browser, close }`. */
export async function openApp() {
  const application = process.env.APP_BIN;
  if (!application) throw new Error('APP_BIN must point at the built app (target/release/octo-oidc-wizard)');
  if (!process.env.DISPLAY) throw new Error('no DISPLAY: run the E2E suite under xvfb-run');
  let session;
  try {
    session = await startOnce(application);
  } catch (error) {
    console.error(`# first WebDriver session start failed (${error.message}); retrying once`);
    await sleep(1000);
    session = await startOnce(application);
  }
  const { browser, driver } = session;
  return {
    browser,
    async close() {
      try {
        await browser.deleteSession();
      } finally {
        await stop(driver);
      }
    },
  };
}

/**
 * The running app's processes and every descendant (WebKitWebProcess, WebKitNetworkProcess and
 * any bubblewrap between), each as `{ pid, name, environ }` (`environ` as one `NAME=value`
 * string per entry), read from /proc. The app is the process whose executable is APP_BIN.
 */
export function appProcessTree() {
  const application = realpathSync(process.env.APP_BIN);
  const processes = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // stat is "pid (name) state ppid ...": the name may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const parent = Number(stat.slice(close + 2).split(' ')[1]);
      let executable = null;
      try {
        executable = realpathSync(`/proc/${entry}/exe`);
      } catch {
        // Another user's process, or a kernel thread.
      }
      processes.push({ pid: Number(entry), parent, name: stat.slice(stat.indexOf('(') + 1, close), executable });
    } catch {
      // The process ended while it was read.
    }
  }
  const tree = processes.filter((p) => p.executable === application);
  for (let i = 0; i < tree.length; i++) {
    tree.push(...processes.filter((p) => p.parent === tree[i].pid && !tree.includes(p)));
  }
  return tree.map(({ pid, name }) => {
    let environ = [];
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
    } catch {
      // The process ended while it was read.
    }
    return { pid, name, environ };
  });
}

/** Saves a screenshot of what the window shows now (after a round trip, so it is not stale). */
export async function screenshot(browser, name) {
  await browser.execute(() => new Promise((resolve) => requestAnimationFrame(() => resolve(document.title))));
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await browser.saveScreenshot(file);
  return file;
}

/**
 * Opens the app before the tests of the enclosing `describe` (handing its browser to `opened`)
 * and closes it after them; `env` is added to the app's environment for its launch.
 */
export function openAppForSuite(opened, env = {}) {
  let app;
  before(async () => {
    // `env` is set for the app's launch only (it inherits this process's environment).
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    try {
      app = await openApp();
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    opened(app.browser);
  });
  after(async () => {
    await app?.close();
  });
}

/** Waits until the screen titled `text` is shown. */
export async function waitTitle(browser, text, timeout = 15000) {
  const title = await browser.$('#screen-title');
  await title.waitUntil(async () => (await title.getText()) === text, {
    timeout,
    timeoutMsg: `the screen "${text}" did not open`,
  });
}

/** Waits until the control `selector` is enabled. */
export async function waitEnabled(browser, selector, message, timeout = 20000) {
  const element = await browser.$(selector);
  await element.waitUntil(async () => element.isEnabled(), { timeout, timeoutMsg: message });
}
