// api.js - the billing API as the pages use it: same-origin fetch with the
// session cookie, JSON in and out, errors as ApiError with the API's code.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const TIMEOUT_MS = 15000;

async function call(method, path, body) {
  const init = {
    method,
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
    signal: AbortSignal.timeout(TIMEOUT_MS),
  };
  if (body !== undefined) {
    // application/json: the gateway refuses cookie-authenticated changes sent any other way.
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'network', 'The billing service cannot be reached. Check your connection and try again.');
  }
  let data = null;
  try {
    data = await response.json();
  } catch (e) {
    data = null;
  }
  if (!response.ok) {
    const error = data && data.error ? data.error : {};
    // A 5xx message is meant for operators; people get a plain sentence.
    const message = response.status >= 500
      ? 'The billing service is not available right now. Please try again in a moment.'
      : error.message || 'The request was not accepted.';
    throw new ApiError(response.status, error.code || `http_${response.status}`, message);
  }
  return data;
}

export const api = {
  plans: () => call('GET', '/api/v1/subscriptions/plans'),
  status: () => call('GET', '/api/v1/billing/subscription-status'),
  usageDaily: () => call('GET', '/api/v1/usage/me/daily'),
  paymentMethods: () => call('GET', '/api/v1/billing/payment-methods'),
  invoices: () => call('GET', '/api/v1/billing/invoices'),
  checkout: (planId, interval) => call('POST', '/api/v1/billing/checkout/create', { plan_id: planId, interval }),
  portal: (returnUrl) => call('POST', '/api/v1/billing/portal/create', { return_url: returnUrl }),
  cancel: (atPeriodEnd) => call('POST', '/api/v1/billing/subscription/cancel', { at_period_end: atPeriodEnd }),
  resume: () => call('POST', '/api/v1/billing/subscription/resume', {}),
  changePlan: (planId, interval) => call('POST', '/api/v1/billing/subscription/upgrade', { plan_id: planId, interval }),
};

let siteConfig = null;

/* The deployment's settings for the pages (/site-config.json, made by the gateway). */
export async function site() {
  if (!siteConfig) {
    try {
      const response = await fetch('/site-config.json', { credentials: 'same-origin' });
      siteConfig = response.ok ? await response.json() : {};
    } catch (e) {
      siteConfig = {};
    }
  }
  return siteConfig;
}

/* Sends the visitor to the sign-in page, to come back to returnTo (default: here). */
export async function signIn(returnTo = window.location.href) {
  const { login_url: loginUrl } = await site();
  if (!loginUrl) {
    return false;
  }
  const url = new URL(loginUrl, window.location.href);
  url.searchParams.set('return_to', returnTo);
  window.location.assign(url.toString());
  return true;
}
