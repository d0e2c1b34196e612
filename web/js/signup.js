// signup.js - /signup-flow.html: Select plan -> Payment -> Complete.
//
// The step, plan and interval live in the address (?plan=&interval=&step=),
// so the sign-in round trip comes back to the same step. The choice is also
// kept in sessionStorage for Stripe's cancel address, which is the same for
// every plan.
import { api, signIn } from './api.js';
import { h, clear, loading, failure } from './dom.js';
import { money, quota, quotaPhrase, priceFor, per, yearlySaving, intervalName } from './format.js';

const STORE_KEY = 'ob.signup';
const POLL_MS = 1000;
const POLL_LIMIT = 90;

const params = new URLSearchParams(window.location.search);
const state = {
  plan: params.get('plan'),
  interval: params.get('interval') === 'year' ? 'year' : 'month',
  plans: [],
};
const $ = (id) => document.getElementById(id);

function remember() {
  sessionStorage.setItem(STORE_KEY, JSON.stringify({ plan: state.plan, interval: state.interval }));
}

function recall() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORE_KEY) || 'null');
    if (saved && !state.plan) {
      state.plan = saved.plan;
      state.interval = saved.interval === 'year' ? 'year' : 'month';
    }
  } catch (e) { /* nothing kept */ }
}

function address(step) {
  const q = new URLSearchParams();
  if (state.plan) q.set('plan', state.plan);
  q.set('interval', state.interval);
  if (step && step !== 'select') q.set('step', step);
  return `${window.location.pathname}?${q}`;
}

function showStep(step, { focus = true } = {}) {
  const order = ['select', 'payment', 'complete'];
  order.forEach((name, i) => {
    const li = $(`step-${name}`);
    const current = name === step;
    li.toggleAttribute('aria-current', current);
    if (current) li.setAttribute('aria-current', 'step');
    li.classList.toggle('done', i < order.indexOf(step));
    $(`panel-${name}`).hidden = !current;
  });
  document.title = `${{ select: 'Select plan', payment: 'Payment', complete: 'Complete' }[step]} · Sign up · Ops Center`;
  if (focus) $(`${step}-heading`).focus();
}

function notice(kind, text) {
  clear($('notice'));
  if (text) $('notice').append(h('div', { class: `state ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text));
}

function plan() {
  return state.plans.find((p) => p.id === state.plan);
}

function offered(p, interval) {
  return priceFor(p, interval) !== null;
}

function renderChoices() {
  const box = $('plan-choices');
  const list = h('fieldset', { class: 'choice-list' }, h('legend', {}, 'Plan'));
  for (const p of state.plans) {
    const interval = offered(p, state.interval) ? state.interval : 'month';
    const saving = state.interval === 'year' ? yearlySaving(p) : 0;
    const input = h('input', { type: 'radio', name: 'plan', value: p.id, checked: p.id === state.plan, 'aria-describedby': `choice-${p.id}-detail` });
    list.append(h('label', { class: 'choice' }, input,
      h('span', { class: 'choice-main' }, h('strong', {}, p.name),
        h('small', { id: `choice-${p.id}-detail` }, `${quotaPhrase(p)}${saving > 0 ? ` · save ${saving}% yearly` : ''}`)),
      h('span', { class: 'choice-price' }, `${money(priceFor(p, interval), p.currency)} ${per(p, interval)}`)));
  }
  list.addEventListener('change', (e) => {
    if (e.target.name === 'plan') {
      state.plan = e.target.value;
      history.replaceState(null, '', address('select'));
    }
  });
  clear(box).append(list);
}

async function loadPlans() {
  if (state.plans.length) return true;
  loading($('plan-choices'), 'Loading plans…');
  try {
    state.plans = (await api.plans()).plans || [];
    if (!plan()) state.plan = (state.plans.find((p) => p.id === 'professional') || state.plans[0] || {}).id;
    return true;
  } catch (error) {
    const retry = failure($('plan-choices'), 'The plans could not be loaded.', error, () => start());
    retry.focus();
    return false;
  }
}

function renderSummary() {
  const p = plan();
  const interval = offered(p, state.interval) ? state.interval : 'month';
  clear($('summary')).append(
    h('h3', {}, `${p.name}${p.trial_days > 0 ? '' : `, ${intervalName(interval)}`}`),
    h('p', { class: 'price' }, money(priceFor(p, interval), p.currency), ' ', h('span', { class: 'per' }, per(p, interval))),
    h('dl', { class: 'facts' },
      h('div', {}, h('dt', {}, 'API calls'), h('dd', {}, quota(p))),
      h('div', {}, h('dt', {}, 'Seats'), h('dd', {}, String(p.seats ?? 1))),
      h('div', {}, h('dt', {}, 'BYOK'), h('dd', {}, p.byok ? 'Yes' : 'No'))),
  );
}

/* Payment: only for a signed-in visitor; others go to sign in and come back here. */
async function toPayment({ push }) {
  if (push) history.pushState(null, '', address('payment'));
  showStep('payment', { focus: false });
  renderSummary();
  clear($('payment-error'));
  $('pay').disabled = true;
  loading($('payment-error'), 'Checking your account…');
  try {
    const status = await api.status();
    clear($('payment-error'));
    if (status.live) {
      $('payment-error').append(h('div', { class: 'state info', role: 'status' },
        `You already have the ${status.plan_name || status.plan_id} plan. `,
        h('a', { href: '/billing-settings.html' }, 'Change it in billing settings'), '.'));
    } else {
      $('pay').disabled = false;
    }
    $('payment-heading').focus();
  } catch (error) {
    if (error.status === 401 && await signIn(new URL(address('payment'), window.location.href).toString())) return;
    failure($('payment-error'), 'Your account could not be checked.', error, () => toPayment({ push: false })).focus();
  }
}

async function pay() {
  const button = $('pay');
  button.disabled = true;
  button.textContent = 'Opening checkout…';
  clear($('payment-error'));
  remember();
  try {
    const p = plan();
    const session = await api.checkout(p.id, offered(p, state.interval) ? state.interval : 'month');
    window.location.assign(session.url);
  } catch (error) {
    if (error.status === 401 && await signIn(new URL(address('payment'), window.location.href).toString())) return;
    button.disabled = false;
    button.textContent = 'Pay with Stripe';
    const title = error.code === 'already_subscribed' ? 'You already have a plan.' : 'Checkout could not be started.';
    $('payment-error').append(h('div', { class: 'state error', role: 'alert' }, h('strong', {}, title), ' ', error.message));
    button.focus();
  }
}

/* Complete: the payment went through at Stripe; the subscription is active
   once its webhook has been recorded, which can take a moment. */
async function complete() {
  showStep('complete');
  const box = $('activation');
  let attempts = 0;
  const wait = async () => {
    attempts += 1;
    try {
      const status = await api.status();
      if (status.live && (status.status === 'active' || status.status === 'trialing')) {
        sessionStorage.removeItem(STORE_KEY);
        clear(box).append(h('div', { class: 'state success', role: 'status' },
          h('strong', {}, `Your ${status.plan_name || status.plan_id} plan is active.`),
          ' Thank you!'));
        $('complete-actions').hidden = false;
        $('to-billing').focus();
        return;
      }
      if (attempts === 1) loading(box, 'Payment received. Activating your subscription…');
    } catch (error) {
      if (error.status === 401 && await signIn()) return;
      if (attempts === 1) loading(box, 'Payment received. Activating your subscription…');
    }
    if (attempts < POLL_LIMIT) {
      setTimeout(wait, POLL_MS);
    } else {
      failure(box, 'This is taking longer than usual.', { message: 'Your payment is safe; the activation will finish shortly.' },
        () => { attempts = 0; loading(box, 'Activating your subscription…'); wait(); });
    }
  };
  loading(box, 'Payment received. Activating your subscription…');
  wait();
}

async function start() {
  if (params.has('success')) {
    complete();
    return;
  }
  recall();
  if (!(await loadPlans())) {
    showStep('select', { focus: false });
    return;
  }
  if (params.has('canceled')) {
    history.replaceState(null, '', address('select'));
    notice('info', 'Checkout was canceled and nothing was charged. Your plan choice is kept: you can try again.');
  }
  document.querySelector(`#interval-switch input[value="${state.interval}"]`).checked = true;
  renderChoices();
  if (params.get('step') === 'payment' && !params.has('canceled')) {
    toPayment({ push: false });
  } else {
    showStep('select', { focus: params.has('canceled') });
  }
}

$('interval-switch').addEventListener('change', (e) => {
  state.interval = e.target.value;
  history.replaceState(null, '', address('select'));
  renderChoices();
});
$('to-payment').addEventListener('click', () => toPayment({ push: true }));
$('back').addEventListener('click', () => {
  history.pushState(null, '', address('select'));
  renderChoices();
  showStep('select');
});
$('pay').addEventListener('click', pay);
window.addEventListener('popstate', () => window.location.reload());
start();
