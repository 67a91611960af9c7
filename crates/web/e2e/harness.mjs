// The browser suite's harness: one demo server (the `liaison` binary, on a fresh SQLite store
// and a free port) and Debian's Chromium, driven by playwright-core. Never downloads a browser.
//
// E2E_BIN      the liaison binary (default: target/debug/liaison from the repository root;
//              not LIAISON_*: the server refuses settings it does not know)
// CHROMIUM_BIN the browser (default: /usr/bin/chromium)
// E2E_OUT      where screenshots go (default: target/e2e)
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
export const out = process.env.E2E_OUT || join(root, 'target/e2e');
mkdirSync(out, { recursive: true });
const axeSource = readFileSync(join(here, 'node_modules/axe-core/axe.min.js'), 'utf8');

/** Starts `liaison demo` on a fresh store; resolves with its base URL and a stop function. */
export async function startDemo() {
  const bin = process.env.E2E_BIN || join(root, 'target/debug/liaison');
  const dir = mkdtempSync(join(tmpdir(), 'liaison-e2e-'));
  const child = spawn(bin, ['--json', 'demo', '--db', join(dir, 'demo.db'), '--addr', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const base = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('the demo did not start in 120 s\n' + stderr)), 120_000);
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = stdout.match(/"url":\s*"(http:\/\/127\.0\.0\.1:\d+)"/);
      if (m) { clearTimeout(timer); ok(m[1]); }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`the demo exited (${code})\n${stderr}\n${stdout.slice(-2000)}`));
    });
  });
  const stop = async () => {
    child.kill('SIGTERM');
    await new Promise((ok) => child.once('exit', ok));
    rmSync(dir, { recursive: true, force: true });
  };
  return { base, stop };
}

/** Debian's Chromium, headless, with the flags this machine's closed network needs. */
export async function browser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/** A fresh browser context (its own cookies) at 1280×800. `axe` lets the axe-core script in
 * past the pages' Content-Security-Policy (which allows no inline script). */
export async function newPage(b, viewport = { width: 1280, height: 800 }, { axe = false } = {}) {
  const ctx = await b.newContext({ viewport, bypassCSP: axe });
  return ctx.newPage();
}

/** Signs in by picking a demo principal on the sign-in page. */
export async function signIn(page, base, principal) {
  await page.goto(base + '/login');
  await page.locator(`button[name="principal"][value="${principal}"]`).click();
  await page.waitForURL(base + '/');
}

export async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/login/);
}

/** Fills a workflow form (fields by name) and presses one of its buttons. */
export async function fill(page, values) {
  for (const [name, value] of Object.entries(values)) {
    const el = page.locator(`[name="${name}"]`);
    const first = el.first();
    const tag = await first.evaluate((e) => e.tagName.toLowerCase() + ':' + (e.getAttribute('type') || ''));
    if (tag.startsWith('select')) await first.selectOption(String(value));
    else if (tag === 'input:checkbox') {
      for (const v of Array.isArray(value) ? value : [value]) {
        await page.locator(`[name="${name}"][value="${v === true ? 'true' : v}"]`).check();
      }
    } else await first.fill(String(value));
  }
}

/** Runs axe-core (WCAG 2.x A and AA) on the page; fails on any serious or critical violation. */
export async function axe(page, what) {
  await page.addScriptTag({ content: axeSource });
  const r = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')}`),
    [],
    `axe on ${what}`,
  );
}

/** Saves a full-page screenshot as E2E_OUT/NAME.png. */
export async function shot(page, name) {
  await page.screenshot({ path: join(out, name + '.png'), fullPage: true });
}

/** The text of the page's main region. */
export async function mainText(page) {
  return page.locator('main').innerText();
}
