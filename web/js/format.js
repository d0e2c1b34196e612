// format.js - money, dates, quotas and plan facts, in the visitor's locale.

const locale = undefined; // the browser's

export function money(cents, currency) {
  const code = (currency || 'usd').toUpperCase();
  const format = new Intl.NumberFormat(locale, { style: 'currency', currency: code });
  const digits = format.resolvedOptions().maximumFractionDigits;
  const amount = cents / 10 ** digits;
  // Whole amounts without ".00" ($49), others in full ($0.99).
  const whole = Number.isInteger(amount);
  return new Intl.NumberFormat(locale, {
    style: 'currency',
    currency: code,
    minimumFractionDigits: whole ? 0 : digits,
    maximumFractionDigits: digits,
  }).format(amount);
}

export function number(n) {
  return new Intl.NumberFormat(locale).format(n);
}

export function date(iso) {
  if (!iso) return '';
  return new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'long', day: 'numeric' }).format(new Date(iso));
}

export function shortDate(iso) {
  return new Intl.DateTimeFormat(locale, { month: 'short', day: 'numeric', timeZone: 'UTC' }).format(new Date(iso));
}

export function quota(plan) {
  if (plan.api_calls_limit === null || plan.api_calls_limit === undefined) return 'Unlimited';
  if (plan.api_calls_period === 'total') return `${number(plan.api_calls_limit)} in total`;
  return `${number(plan.api_calls_limit)} / ${plan.api_calls_period}`;
}

/* The same as a phrase: "1,000 API calls / month", "700 API calls in total". */
export function quotaPhrase(plan) {
  if (plan.api_calls_limit === null || plan.api_calls_limit === undefined) return 'Unlimited API calls';
  if (plan.api_calls_period === 'total') return `${number(plan.api_calls_limit)} API calls in total`;
  return `${number(plan.api_calls_limit)} API calls / ${plan.api_calls_period}`;
}

/* The plan's price for an interval in cents, or null when not offered. */
export function priceFor(plan, interval) {
  if (interval === 'year') return plan.price_yearly_cents ?? null;
  return plan.price_monthly_cents;
}

/* "/ month", "/ year", or the trial's length. */
export function per(plan, interval) {
  if (plan.trial_days > 0) return `for ${plan.trial_days} days`;
  return interval === 'year' ? '/ year' : '/ month';
}

/* Yearly saving against twelve monthly payments, in whole percent (0 when none). */
export function yearlySaving(plan) {
  if (!plan.price_yearly_cents || !plan.price_monthly_cents) return 0;
  const twelve = plan.price_monthly_cents * 12;
  return Math.round(((twelve - plan.price_yearly_cents) / twelve) * 100);
}

const FEATURES = {
  basic_ai: 'Basic AI',
  open_webui: 'Open-WebUI',
  chat: 'Chat',
  search: 'Search',
  byok: 'Bring your own keys (BYOK)',
  tts: 'Text to speech',
  stt: 'Speech to text',
  litellm: 'LiteLLM',
  priority_support: 'Priority support',
  bolt_diy: 'Bolt.DIY',
  team_management: 'Team management',
};

export function featureName(key) {
  return FEATURES[key] || key.replace(/_/g, ' ');
}

/* Every feature any plan has, in catalogue order: the rows of the check-mark list. */
export function allFeatures(plans) {
  const seen = [];
  for (const plan of plans) {
    for (const f of plan.features || []) {
      if (!seen.includes(f)) seen.push(f);
    }
  }
  return seen;
}

const STATUS = {
  active: ['Active', 'ok'],
  trialing: ['Trial', 'ok'],
  past_due: ['Past due', 'warn'],
  unpaid: ['Unpaid', 'bad'],
  incomplete: ['Incomplete', 'warn'],
  incomplete_expired: ['Expired', 'bad'],
  canceled: ['Canceled', 'neutral'],
  paused: ['Paused', 'neutral'],
  none: ['No plan', 'neutral'],
};

export function statusBadge(status) {
  const [text, kind] = STATUS[status] || [status, 'neutral'];
  return { text, kind };
}

export function intervalName(interval) {
  return interval === 'year' ? 'yearly' : interval === 'month' ? 'monthly' : '';
}
