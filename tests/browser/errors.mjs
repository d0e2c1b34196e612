// errors.mjs - what a visitor sees when things fail: the API down (an error
// with a retry that works once it is back) and a checkout Stripe refuses.
import { BASE, assert, run, newPage, noProblems, axe, shots, ask, stripeControl } from './lib.mjs';

run('errors', async (browser) => {
  const page = await newPage(browser);

  // The catalogue's service is down: an error with Retry; Retry works once it is back.
  await ask('stop subscription-worker');
  await page.goto(`${BASE}/plans.html`);
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.innerText(), /The plans could not be loaded\./);
  const retry = page.getByRole('button', { name: 'Retry' });
  assert.ok(await retry.evaluate((b) => b === document.activeElement), 'focus moves to Retry');
  await axe(page, 'plans: API down');
  await shots(page, 'plans-error');
  await ask('start subscription-worker');
  await retry.click();
  await page.locator('.plan-card').nth(3).waitFor();
  assert.equal(await page.getByRole('alert').count(), 0);

  // Checkout refused by Stripe: a message, and the button to try again.
  await page.goto(`${BASE}/signup-flow.html?plan=starter&interval=month&step=payment`);
  await page.waitForURL(/\/login\?return_to=/);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#pay:enabled').waitFor();
  await stripeControl('POST', '/__control/fail', {
    path_prefix: '/v1/checkout/sessions', method: 'POST', status: 400, count: 1,
    error: { type: 'invalid_request_error', code: 'parameter_invalid', message: 'This price cannot be bought right now.' },
  });
  await page.getByRole('button', { name: 'Pay with Stripe' }).click();
  const refused = page.locator('#payment-error [role="alert"]');
  await refused.waitFor();
  assert.match(await refused.innerText(), /Checkout could not be started\. This price cannot be bought right now\./);
  assert.ok(await page.locator('#pay').isEnabled());
  assert.match(page.url(), /\/signup-flow\.html/);
  await axe(page, 'sign-up: checkout refused');
  await shots(page, 'signup-checkout-refused');

  // Stripe's cancel address brings the visitor back to step 1 with the plan kept.
  await page.getByRole('button', { name: 'Pay with Stripe' }).click();
  await page.waitForURL(/\/c\/pay\//);
  await page.getByRole('link', { name: 'Cancel and go back' }).click();
  await page.waitForURL(/\/signup-flow\.html\?plan=starter&interval=month$/);
  await page.getByText('Checkout was canceled').waitFor();
  assert.ok(await page.locator('input[name="plan"][value="starter"]').isChecked());
  await shots(page, 'signup-canceled');

  // Billing settings with the Stripe side down: the plan shows, the Stripe parts offer a retry.
  await ask('stop stripe-worker');
  await page.goto(`${BASE}/billing-settings.html`);
  await page.locator('#status').waitFor();
  assert.equal(await page.locator('#status').innerText(), 'No plan');
  await page.locator('#invoices-body [role="alert"]').waitFor();
  await page.locator('#methods-body [role="alert"]').waitFor();
  await axe(page, 'billing settings: Stripe side down');
  await shots(page, 'billing-settings-error');
  await ask('start stripe-worker');
  await page.locator('#invoices-body').getByRole('button', { name: 'Retry' }).click();
  await page.getByText('No invoices yet.').waitFor();
  noProblems(page);
});
