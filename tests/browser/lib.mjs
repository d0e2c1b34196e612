// lib.mjs - what the browser tests share: Debian's chromium through
// playwright-core (never a downloaded browser), axe-core, screenshots, and
// asking the pytest side (tests/integration/test_pages.py) to act on the stack.
//
// Settings come from the environment: OB_BASE_URL (the gateway),
// OB_STRIPE_URL (the Stripe stand-in), OB_SHOTS (the screenshot folder),
// OB_SERVICE_TOKEN. A line "@@ <action> <args>" on stdout asks pytest to do
// something (stop a worker, ...); pytest answers one line on stdin.
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
const axeSource = require('axe-core').source;

export const BASE = process.env.OB_BASE_URL;
export const STRIPE = process.env.OB_STRIPE_URL;
export const SHOTS = process.env.OB_SHOTS;
export const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
export const TIMEOUT = 20000;
export { assert };

export async function launch() {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: FLAGS, headless: true, timeout: 60000 });
}

/* A fresh context (its own cookies) and page; CSP violations and page errors fail the test. */
export async function newPage(browser, { width = 1280, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, locale: 'en-US', timezoneId: 'UTC' });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (msg) => {
    if (/Content Security Policy|Refused to/i.test(msg.text())) page.problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (error) => page.problems.push(`page error: ${error.message}`));
  page.calls = [];
  page.on('response', (r) => {
    if (r.url().includes('/api/') && r.request().method() !== 'GET') page.calls.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`);
  });
  return page;
}

export function noProblems(page) {
  assert.deepEqual(page.problems, [], 'the page logged CSP violations or script errors');
}

/* axe-core on the page as it is now: no serious or critical violation. */
export async function axe(page, label) {
  // Evaluated through the DevTools protocol: the page's CSP (no inline script) stays in force.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const text = bad.map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('\n    ')}`);
  assert.equal(bad.length, 0, `axe on ${label}:\n  ${text.join('\n  ')}`);
  return result.violations.length;
}

/* Screenshots of the page at 375 and 1280 px wide, full length (or just the
   window, for an open dialog: its backdrop covers the window only). */
export async function shots(page, name, { fullPage = true } = {}) {
  mkdirSync(SHOTS, { recursive: true });
  const before = page.viewportSize();
  for (const width of [375, 1280]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(50); // one layout pass after the resize
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
    if (overflow > width) {
      const culprits = await page.evaluate((w) => [...document.querySelectorAll('body *')]
        .filter((el) => el.getBoundingClientRect().right > w + 1 && ![...el.children].some((c) => c.getBoundingClientRect().right > w + 1))
        .slice(0, 5).map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}.${el.className} "${el.textContent.slice(0, 40)}"`), width);
      assert.fail(`${name} is ${overflow} px wide in a ${width} px window (horizontal scrolling): ${culprits.join('; ')}`);
    }
    await page.screenshot({ path: `${SHOTS}/${name}-${width}.png`, fullPage });
  }
  await page.setViewportSize(before);
}

let reader = null;
let lines = null;
/* Asks pytest to do something to the stack; resolves with its answer. */
export async function ask(action) {
  if (!lines) {
    reader = createInterface({ input: process.stdin });
    lines = reader[Symbol.asyncIterator]();
  }
  process.stdout.write(`@@ ${action}\n`);
  const { value } = await lines.next();
  assert.ok(value && value.startsWith('ok'), `pytest could not ${action}: ${value}`);
  return value.slice(2).trim();
}

export async function api(method, path, { token, body } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${BASE}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, body: await response.json().catch(() => null) };
}

export async function stripeControl(method, path, body) {
  const response = await fetch(`${STRIPE}${path}`, {
    method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  return response.json();
}

/* Usage events for user, spread over the days before now (one batch). */
export async function ingestUsage(user, perDay) {
  const now = Math.floor(Date.now() / 1000);
  const events = [];
  perDay.forEach((calls, i) => {
    const day = perDay.length - 1 - i;
    if (calls > 0) {
      events.push({ transaction_id: `${user}-d${day}`, user_id: user, code: 'api_calls',
        timestamp: now - day * 86400 - 60, properties: { quantity: calls } });
    }
  });
  const answer = await api('POST', '/api/v1/usage/events', { token: process.env.OB_SERVICE_TOKEN, body: { events } });
  assert.equal(answer.status, 202, JSON.stringify(answer.body));
}

/* Presses Tab until the focused element matches selector; fails after max presses. */
export async function tabTo(page, selector, { max = 80, shift = false } = {}) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(shift ? 'Shift+Tab' : 'Tab');
    const hit = await page.evaluate((sel) => {
      const el = document.activeElement;
      return !!el && el !== document.body && el.matches(sel);
    }, selector);
    if (hit) return;
  }
  assert.fail(`Tab never reached ${selector} on ${page.url()}`);
}

/* The focused element shows a visible focus indicator (an outline or a box shadow). */
export async function focusVisible(page) {
  const style = await page.evaluate(() => {
    const el = document.activeElement;
    const s = getComputedStyle(el);
    return { tag: el.tagName, outline: s.outlineStyle, width: parseFloat(s.outlineWidth), shadow: s.boxShadow };
  });
  assert.ok((style.outline !== 'none' && style.width >= 2) || style.shadow !== 'none',
    `no visible focus on ${style.tag}: ${JSON.stringify(style)}`);
}

export async function run(name, body) {
  const browser = await launch();
  try {
    await body(browser);
    console.log(`${name}: ok`);
  } catch (error) {
    console.error(`${name}: FAILED\n${error.stack || error}`);
    // What the page showed: its alerts, and a screenshot next to the others.
    for (const context of browser.contexts()) {
      for (const page of context.pages()) {
        const alerts = await page.locator('[role="alert"]').allInnerTexts().catch(() => []);
        console.error(`  at ${page.url()}: alerts ${JSON.stringify(alerts)}; problems ${JSON.stringify(page.problems || [])}; calls ${JSON.stringify(page.calls || [])}; focus ${await page.evaluate(() => document.activeElement && document.activeElement.outerHTML.slice(0, 80)).catch(() => '?')}`);
        await page.screenshot({ path: `${SHOTS}/FAILED-${name}.png`, fullPage: true }).catch(() => {});
      }
    }
    process.exitCode = 1;
  } finally {
    await browser.close();
    if (reader) {
      reader.close(); // an open stdin would keep node running
      process.stdin.destroy();
    }
  }
}
