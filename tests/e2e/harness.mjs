// WebDriver harness for the desktop app: starts tauri-driver (which drives WebKitWebDriver) on
// free loopback ports, opens a session on the release binary, and cleans everything up.
// Screenshots are taken of the app's window as the X server shows it (ImageMagick's `import`),
// not through WebDriver: WebKitWebDriver's screenshot never returns with the renderer the app
// ships (src-tauri/src/renderer.rs).
//
// Needs: APP_BIN (the built app), tauri-driver and WebKitWebDriver on PATH, a display (run
// under `xvfb-run`), and `xwininfo`, `xprop` and `import` (x11-utils, ImageMagick). Session
// start is retried once: the very first WebKitWebDriver start on a cold machine has been seen
// to fail.
import { execFileSync, spawn } from 'node:child_process';
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

/**
 * The X id of the running app's window: of the top-level windows whose `_NET_WM_PID` is the
 * app's process, the largest (GTK also maps a 10x10 leader window for the same process).
 */
function appWindowId() {
  const app = appProcessTree()[0];
  if (!app) throw new Error(`no running process of ${process.env.APP_BIN}`);
  const windows = [];
  // One line per top-level window: `0x200003 "title": ("class" "Class")  1100x760+90+20  +90+20`.
  for (const line of execFileSync('xwininfo', ['-root', '-children'], { encoding: 'utf8' }).split('\n')) {
    const found = /^\s*(0x[0-9a-f]+) .*\s(\d+)x(\d+)[+-]\d+[+-]\d+\s/.exec(line);
    if (!found) continue;
    const [, id, width, height] = found;
    if (windowPid(id) === app.pid) windows.push({ id, area: Number(width) * Number(height) });
  }
  if (windows.length === 0) throw new Error(`the app (pid ${app.pid}) has no top-level X window`);
  return windows.sort((a, b) => b.area - a.area)[0].id;
}

/** The `_NET_WM_PID` of X window `id`, or undefined (none set, or the window has gone since). */
function windowPid(id) {
  try {
    const answer = execFileSync('xprop', ['-id', id, '_NET_WM_PID'], { encoding: 'utf8', stdio: 'pipe' });
    const found = /= (\d+)/.exec(answer);
    return found ? Number(found[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Saves a screenshot of what the window shows now, read from the X server. Two frames first: the
 * page's last change is painted in the first, and the second starts only once the first reached
 * the window, so the picture is not stale.
 */
export async function screenshot(browser, name) {
  await browser.execute(
    () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve(document.title)))),
  );
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  execFileSync('import', ['-silent', '-window', appWindowId(), `png:${file}`]);
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
