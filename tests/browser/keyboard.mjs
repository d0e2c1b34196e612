// keyboard.mjs - the journey with the keyboard only (Tab, arrows, Enter,
// Space, Escape; no mouse), checking that every control we stop on shows
// a visible focus indicator.
import { BASE, assert, run, newPage, noProblems, tabTo, focusVisible, api } from './lib.mjs';

const USER = process.env.OB_USER;

async function press(page, selector, key = 'Enter') {
  await tabTo(page, selector);
  await focusVisible(page);
  await page.keyboard.press(key);
}

run('keyboard', async (browser) => {
  const page = await newPage(browser);
  await page.goto(`${BASE}/plans.html`);
  await page.locator('.plan-card').nth(3).waitFor();

  // The skip link comes first and is visible when focused.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
  await focusVisible(page);

  // Yearly with the arrow keys inside the radio group, then Professional.
  await tabTo(page, 'input[name="interval"][value="month"]');
  await focusVisible(page);
  await page.keyboard.press('ArrowRight');
  assert.ok(await page.locator('input[name="interval"][value="year"]').isChecked());
  await page.locator('[data-plan="professional"]').getByText('$490').waitFor();
  await press(page, '[data-plan="professional"] a.button');

  await page.waitForURL(/\/signup-flow\.html\?plan=professional&interval=year/);
  await page.locator('#panel-select:not([hidden])').waitFor();
  await press(page, '#to-payment');

  // The sign-in stand-in, by keyboard too.
  await page.waitForURL(/\/login\?return_to=/);
  await tabTo(page, '#user');
  await page.keyboard.press('Control+A');
  await page.keyboard.type(USER);
  await tabTo(page, 'button[type="submit"]');
  await page.keyboard.press('Enter');

  await page.waitForURL(/step=payment$/);
  await page.locator('#pay:enabled').waitFor();
  await press(page, '#pay');
  await page.waitForURL(/\/c\/pay\//);
  await tabTo(page, 'button[type="submit"]');
  await page.keyboard.press('Enter');

  // Confirmation: focus lands on the way on.
  await page.waitForURL(/\?success=/);
  await page.locator('#to-billing:focus').waitFor();
  await focusVisible(page);
  await page.keyboard.press('Enter');

  await page.waitForURL(/\/billing-settings\.html$/);
  await page.locator('#plan-name', { hasText: 'Professional' }).waitFor();

  // Change plan: the dialog keeps focus inside; Escape closes it and focus goes back.
  await press(page, '#change-plan');
  await page.locator('#change-dialog[open]').waitFor();
  const inside = [];
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    inside.push(await page.evaluate(() => !!document.activeElement.closest('#change-dialog')));
  }
  assert.ok(inside.every(Boolean), 'Tab left the open dialog');
  await page.keyboard.press('Escape');
  await page.locator('#change-dialog').waitFor({ state: 'hidden' });
  assert.equal(await page.evaluate(() => document.activeElement.id), 'change-plan');

  // Starter monthly, chosen with the arrows from the first choice.
  await page.keyboard.press('Enter');
  await page.locator('#change-dialog[open]').waitFor();
  await tabTo(page, '#change-dialog input[name="target"]:checked');
  let guard = 0;
  while (!(await page.locator('#change-dialog input[value="starter:month"]').isChecked()) && guard++ < 12) {
    await page.keyboard.press('ArrowDown');
  }
  await press(page, '#change-confirm');
  await page.locator('#plan-name', { hasText: 'Starter' }).waitFor();

  // Cancel at period end, then resume.
  await press(page, '#cancel');
  await page.locator('#cancel-dialog[open]').waitFor();
  await press(page, '#cancel-confirm');
  await page.locator('#cancel-note').waitFor();
  await page.locator('#plan-heading:focus').waitFor(); // the page has moved focus after the change
  await press(page, '#resume');
  await page.locator('#cancel').waitFor();

  const status = (await api('GET', '/api/v1/billing/subscription-status', { token: process.env.OB_USER_TOKEN })).body;
  assert.equal(status.plan_id, 'starter');
  assert.equal(status.interval, 'month');
  assert.equal(status.status, 'active');
  assert.equal(status.cancel_at_period_end, false);
  noProblems(page);
});
