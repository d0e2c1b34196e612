// journey.mjs - the whole journey with a mouse: plans -> Professional yearly ->
// sign-up -> sign in and back -> Stripe checkout (the stand-in pays and sends
// the webhooks) -> confirmation that waits for "active" -> billing settings
// (plan, status, price, usage bar and chart, cards, invoices) -> change plan
// -> cancel at period end -> resume; then a cross-origin form post with the
// session cookie is refused. axe-core and screenshots on every page.
import { BASE, assert, run, newPage, noProblems, axe, shots, stripeControl, ingestUsage, api } from './lib.mjs';

const USER = process.env.OB_USER;
const LOGIN_ORIGIN = new URL(process.env.OB_LOGIN_URL).origin;

run('journey', async (browser) => {
  const page = await newPage(browser);

  // Plans: four cards from the API, monthly first.
  await page.goto(`${BASE}/plans.html`);
  await page.locator('.plan-card').nth(3).waitFor();
  assert.equal(await page.locator('.plan-card').count(), 4);
  assert.deepEqual(await page.locator('.plan-card h2').allTextContents(), ['Trial', 'Starter', 'Professional', 'Enterprise']);
  assert.deepEqual(await page.locator('[data-fact="quota"]').allTextContents(), ['700 in total', '1,000 / month', '10,000 / month', 'Unlimited']);
  assert.match(await page.locator('[data-plan="professional"]').innerText(), /Most popular[\s\S]*\$49\s*\/ month/);
  await axe(page, 'plans (monthly)');
  await shots(page, 'plans');

  // Yearly: prices and the saving, all computed from the API's numbers.
  await page.getByLabel('Yearly').check();
  const pro = page.locator('[data-plan="professional"]');
  await pro.getByText('$490').waitFor();
  assert.match(await pro.innerText(), /\$490\s*\/ year[\s\S]*Save 17% \(\$98 a year\)/);
  assert.match(await page.locator('[data-plan="trial"]').innerText(), /Not offered yearly/);
  await axe(page, 'plans (yearly)');
  await shots(page, 'plans-yearly');
  await pro.getByRole('link', { name: /Choose Professional/ }).click();

  // Sign-up, step 1, with the plan and interval kept.
  await page.waitForURL(/\/signup-flow\.html\?plan=professional&interval=year/);
  await page.locator('#panel-select:not([hidden]) input[value="professional"]:checked').waitFor();
  assert.ok(await page.locator('#interval-switch input[value="year"]').isChecked());
  await axe(page, 'sign-up: select plan');
  await shots(page, 'signup-select');
  await page.getByRole('button', { name: 'Continue to payment' }).click();

  // Not signed in: off to LOGIN_URL, and back to the payment step.
  await page.waitForURL((url) => url.origin === LOGIN_ORIGIN && url.pathname === '/login');
  const back = new URL(page.url()).searchParams.get('return_to');
  assert.match(back, /\/signup-flow\.html\?plan=professional&interval=year&step=payment$/);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/signup-flow\.html\?plan=professional&interval=year&step=payment$/);
  await page.locator('#pay:enabled').waitFor();
  assert.match(await page.locator('#summary').innerText(), /Professional, yearly[\s\S]*\$490\s*\/ year[\s\S]*10,000 \/ month/);
  assert.equal(await page.locator('#step-payment').getAttribute('aria-current'), 'step');
  await axe(page, 'sign-up: payment');
  await shots(page, 'signup-payment');

  // Checkout at the stand-in; its webhooks are held so that the waiting state shows.
  await stripeControl('POST', '/__control/webhooks', { hold: true });
  await stripeControl('POST', '/__control/checkout', { backdate_days: 10 });
  await page.getByRole('button', { name: 'Pay with Stripe' }).click();
  await page.waitForURL(/\/c\/pay\/cs_test_/);
  assert.match(await page.locator('main').innerText(), /490\.00 USD per year/);
  await page.getByRole('button', { name: 'Pay' }).click();
  await page.waitForURL(/\/signup-flow\.html\?success=cs_test_/);
  await page.getByText('Payment received. Activating your subscription').waitFor();
  assert.equal(await page.locator('#step-complete').getAttribute('aria-current'), 'step');
  await axe(page, 'sign-up: waiting for activation');
  await shots(page, 'signup-activating');
  const released = await stripeControl('POST', '/__control/webhooks', { hold: false });
  assert.equal(released.released, 3);
  await page.getByText('Your Professional plan is active.').waitFor();
  await page.locator('#to-billing:focus').waitFor();
  await axe(page, 'sign-up: complete');
  await shots(page, 'signup-complete');
  const sent = await stripeControl('GET', '/__control/webhooks');
  assert.deepEqual(sent.map((w) => [w.type, w.status]),
    [['checkout.session.completed', 200], ['customer.subscription.created', 200], ['invoice.paid', 200]]);

  // Some usage over the last ten days of this period.
  await ingestUsage(USER, [120, 340, 0, 515, 260, 90, 610, 430, 305, 180]);

  // Billing settings.
  await page.getByRole('link', { name: 'Go to billing settings' }).click();
  await page.waitForURL(/\/billing-settings\.html$/);
  await page.locator('#plan-name').waitFor();
  assert.equal(await page.locator('#plan-name').innerText(), 'Professional');
  assert.equal(await page.locator('#status').innerText(), 'Active');
  assert.equal(await page.locator('#plan-price').innerText(), '$490 / year');
  assert.match(await page.locator('#next-payment').innerText(), /^\$490 on \w+ \d+, \d{4}$/);
  await page.locator('#usage-bar').waitFor();
  assert.equal(await page.locator('#usage-text').innerText(), '2,850 of 10,000 API calls used');
  assert.equal(await page.locator('#usage-bar').getAttribute('aria-valuenow'), '2850');
  assert.equal(await page.locator('#usage-bar').getAttribute('aria-valuemax'), '10000');
  const fill = await page.locator('#usage-bar .fill').evaluate((el) => el.style.width);
  assert.equal(fill, '28.5%');
  assert.ok((await page.locator('svg.chart rect.bar').count()) >= 10, 'a bar per day of the window');
  assert.equal(await page.locator('svg.chart line.limit').count(), 1);
  assert.match(await page.locator('svg.chart desc').textContent(), /2,850 calls in \d+ days; limit 10,000\./);
  await page.locator('#cards li').first().waitFor();
  assert.match(await page.locator('#cards').innerText(), /VISA ending in 4242[\s\S]*Default/);
  await page.locator('#invoice-table tbody tr').first().waitFor();
  const invoiceRows = await page.locator('#invoice-table tbody tr').allInnerTexts();
  assert.equal(invoiceRows.length, 1);
  assert.match(invoiceRows[0], /STANDIN-0001[\s\S]*\$490[\s\S]*Paid[\s\S]*View invoice/);
  const link = await page.locator('#invoice-table a').getAttribute('href');
  assert.match(link, /\/i\/in_/);
  await axe(page, 'billing settings');
  await page.locator('details.text-alt summary').click();
  assert.equal(await page.locator('details.text-alt tbody tr').count(), await page.locator('svg.chart rect.bar').count());
  await shots(page, 'billing-settings');

  // Change plan: a dialog with the other plans; Escape closes it and gives focus back.
  await page.getByRole('button', { name: 'Change plan' }).click();
  const change = page.locator('#change-dialog');
  await change.waitFor();
  assert.ok(await change.evaluate((d) => d.open && d.matches(':modal')));
  assert.match(await change.innerText(), /prorated difference/);
  await axe(page, 'change plan dialog');
  await shots(page, 'billing-change-plan', { fullPage: false });
  await page.keyboard.press('Escape');
  await change.waitFor({ state: 'hidden' });
  assert.equal(await page.evaluate(() => document.activeElement.id), 'change-plan');
  await page.getByRole('button', { name: 'Change plan' }).click();
  await change.getByLabel(/Enterprise, yearly/).check();
  await change.getByRole('button', { name: 'Change plan' }).click();
  await change.waitFor({ state: 'hidden' });
  await page.locator('#plan-name', { hasText: 'Enterprise' }).waitFor();
  assert.equal(await page.locator('#plan-price').innerText(), '$990 / year');
  await page.locator('#usage-text', { hasText: 'Unlimited' }).waitFor();
  assert.equal(await page.locator('#usage-text').innerText(), '2,850 API calls used · Unlimited');

  // Cancel at period end (the default), then resume.
  await page.getByRole('button', { name: 'Cancel subscription' }).click();
  const cancel = page.locator('#cancel-dialog');
  await cancel.waitFor();
  assert.ok(await cancel.locator('input[value="period_end"]').isChecked());
  await axe(page, 'cancel dialog');
  await shots(page, 'billing-cancel', { fullPage: false });
  await cancel.getByRole('button', { name: 'Cancel subscription' }).click();
  await page.locator('#cancel-note').waitFor();
  assert.match(await page.locator('#cancel-note').innerText(), /ends on/);
  assert.equal(await page.locator('#status').innerText(), 'Active');
  let status = (await api('GET', '/api/v1/billing/subscription-status', { token: process.env.OB_USER_TOKEN })).body;
  assert.equal(status.cancel_at_period_end, true);
  await axe(page, 'billing settings (canceling)');
  await shots(page, 'billing-canceling');
  await page.getByRole('button', { name: 'Resume subscription' }).click();
  await page.getByRole('button', { name: 'Cancel subscription' }).waitFor();
  assert.equal(await page.locator('#cancel-note').count(), 0);
  status = (await api('GET', '/api/v1/billing/subscription-status', { token: process.env.OB_USER_TOKEN })).body;
  assert.equal(status.cancel_at_period_end, false);
  assert.equal(status.plan_id, 'enterprise');
  noProblems(page);

  // Manage payment methods: off to Stripe's customer portal (answered here: Stripe is not reachable).
  await page.route('https://billing.stripe.com/**', (route) => route.fulfill({ contentType: 'text/html', body: '<title>Stripe customer portal</title>' }));
  await page.getByRole('button', { name: 'Manage payment methods' }).click();
  await page.waitForURL(/^https:\/\/billing\.stripe\.com\/p\/session\//);
  const portal = (await stripeControl('GET', '/__control/requests')).filter((r) => r.path === '/v1/billing_portal/sessions');
  assert.equal(portal.length, 1);
  assert.equal(portal[0].form.return_url, `${BASE}/billing-settings.html`);

  // Another site's form posting to the cancel endpoint rides on the cookie: refused.
  await page.route(`${LOGIN_ORIGIN}/attack.html`, (route) => route.fulfill({
    contentType: 'text/html',
    body: `<!doctype html><title>prize</title><form method="post" action="${BASE}/api/v1/billing/subscription/cancel">
      <input name="at_period_end" value="false"><button>Claim your prize</button></form>`,
  }));
  await page.goto(`${LOGIN_ORIGIN}/attack.html`);
  const [response] = await Promise.all([page.waitForResponse(`${BASE}/api/v1/billing/subscription/cancel`),
    page.getByRole('button', { name: 'Claim your prize' }).click()]);
  assert.equal(response.status(), 403);
  assert.equal((await response.json()).error.code, 'cross_origin');
  const cookieSent = (await response.request().allHeaders()).cookie || '';
  assert.match(cookieSent, /ob_session=/, 'the browser did send the session cookie');
  status = (await api('GET', '/api/v1/billing/subscription-status', { token: process.env.OB_USER_TOKEN })).body;
  assert.equal(status.status, 'active');
  assert.equal(status.cancel_at_period_end, false);
});
