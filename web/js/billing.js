// billing.js - /billing-settings.html: plan and status, usage, cards on
// file, billing history; change plan, cancel and resume.
import { api, signIn } from './api.js';
import { h, clear, loading, failure, openDialog, announce } from './dom.js';
import { money, number, date, quota, quotaPhrase, priceFor, per, statusBadge, intervalName } from './format.js';
import { usageChart } from './chart.js';

const $ = (id) => document.getElementById(id);
const state = { status: null, plans: [] };

function planOf(id) {
  return state.plans.find((p) => p.id === id);
}

function daysUntil(iso) {
  return Math.max(0, Math.ceil((new Date(iso).getTime() - Date.now()) / 86400000));
}

/* --- your plan ---------------------------------------------------------- */

function renderPlan() {
  const s = state.status;
  const body = clear($('plan-body'));
  const actions = clear($('plan-actions'));
  const badge = statusBadge(s.status);
  clear($('status-badge')).append(h('span', { class: `badge ${badge.kind}`, id: 'status' }, badge.text));
  if (!s.live) {
    body.append(h('p', {}, s.status === 'none' ? 'You have no plan yet.' : `Your ${s.plan_name || 'previous'} plan has ended.`));
    actions.append(h('a', { class: 'button', href: '/plans.html' }, 'Choose a plan'));
    return;
  }
  const plan = planOf(s.plan_id);
  const interval = s.interval || 'month';
  const cents = plan ? priceFor(plan, interval) ?? plan.price_monthly_cents : null;
  const price = plan ? `${money(cents, plan.currency)} ${per(plan, interval)}` : '';
  const facts = h('dl', { class: 'facts' },
    h('div', {}, h('dt', {}, 'Plan'), h('dd', { id: 'plan-name' }, s.plan_name || s.plan_id)),
    h('div', {}, h('dt', {}, 'Billing'), h('dd', {}, intervalName(interval) ? `${intervalName(interval)[0].toUpperCase()}${intervalName(interval).slice(1)}` : 'Trial')),
    h('div', {}, h('dt', {}, 'Price'), h('dd', { id: 'plan-price' }, price)),
    plan ? h('div', {}, h('dt', {}, 'API calls'), h('dd', {}, quota(plan))) : null);
  if (s.cancel_at_period_end && s.current_period_end) {
    facts.append(h('div', {}, h('dt', {}, 'Ends on'), h('dd', { id: 'ends-on' }, date(s.current_period_end))));
  } else if (s.current_period_end) {
    facts.append(h('div', {}, h('dt', {}, 'Next payment'), h('dd', { id: 'next-payment' },
      `${plan ? money(cents, plan.currency) : ''} on ${date(s.current_period_end)}`)));
  }
  if (s.trial_end && s.status === 'trialing') {
    const left = daysUntil(s.trial_end);
    facts.append(h('div', {}, h('dt', {}, 'Trial'), h('dd', {}, `${left} day${left === 1 ? '' : 's'} left`)));
  }
  body.append(facts);
  if (s.cancel_at_period_end) {
    body.append(h('div', { class: 'state info', id: 'cancel-note' },
      `Your subscription is canceled and ends on ${date(s.current_period_end)}. Resume it to keep your plan.`));
    actions.append(h('button', { type: 'button', class: 'button', id: 'resume', onclick: resume }, 'Resume subscription'));
  } else {
    actions.append(h('button', { type: 'button', class: 'button', id: 'change-plan', onclick: (e) => openChange(e.currentTarget) }, 'Change plan'));
    actions.append(h('button', { type: 'button', class: 'button secondary', id: 'cancel', onclick: (e) => openCancel(e.currentTarget) }, 'Cancel subscription'));
  }
}

/* --- usage -------------------------------------------------------------- */

function renderUsage(daily) {
  const box = clear($('usage-body'));
  const metric = (state.status.usage || {}).api_calls;
  if (!state.status.live || !metric) {
    box.append(h('p', { class: 'muted' }, 'No usage: you have no active plan.'));
    return;
  }
  const unlimited = metric.limit === null || metric.limit === undefined;
  const share = unlimited ? 0 : Math.min(1, metric.limit > 0 ? metric.used / metric.limit : 1);
  const text = unlimited
    ? `${number(metric.used)} API calls used · Unlimited`
    : `${number(metric.used)} of ${number(metric.limit)} API calls used`;
  box.append(h('p', { id: 'usage-text' }, h('strong', {}, text)));
  const bar = h('div', {
    class: `usage-bar${unlimited ? ' unlimited' : share >= 1 ? ' full' : share >= 0.8 ? ' high' : ''}`,
    role: 'meter', id: 'usage-bar',
    'aria-label': 'API calls used this period',
    'aria-valuemin': '0',
    'aria-valuemax': unlimited ? '100' : String(metric.limit),
    'aria-valuenow': unlimited ? '0' : String(Math.min(metric.used, metric.limit)),
    'aria-valuetext': text,
  }, h('div', { class: 'fill' }));
  if (!unlimited) bar.firstChild.style.width = `${(share * 100).toFixed(1)}%`;
  box.append(bar);
  box.append(h('p', { class: 'muted' }, metric.resets_at ? `Resets on ${date(metric.resets_at)}.` : 'This allowance covers your whole trial.'));
  if (!daily) return;
  if (!daily.days || daily.days.length === 0) return;
  box.append(usageChart(daily.days, daily.limit, 'chart-title', 'chart-desc'));
  let total = 0;
  const rows = daily.days.map((d) => h('tr', {},
    h('td', {}, new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' }).format(new Date(d.date))),
    h('td', { class: 'num' }, number(d.calls)),
    h('td', { class: 'num' }, number((total += d.calls)))));
  box.append(h('details', { class: 'text-alt' }, h('summary', {}, 'Usage by day as a table'),
    h('div', { class: 'table-wrap' }, h('table', {},
      h('caption', { class: 'visually-hidden' }, 'API calls per day this period (UTC days)'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Day'), h('th', { scope: 'col', class: 'num' }, 'Calls'), h('th', { scope: 'col', class: 'num' }, 'So far'))),
      h('tbody', {}, rows)))));
}

/* --- payment methods and invoices ---------------------------------------- */

function renderMethods(data) {
  const box = clear($('methods-body'));
  const cards = data.payment_methods || [];
  if (!cards.length) {
    box.append(h('p', { class: 'muted' }, 'No card on file.'));
    return;
  }
  box.append(h('ul', { class: 'cards-list', id: 'cards' }, cards.map((c) => h('li', {},
    h('span', {}, `${(c.brand || 'card').toUpperCase()} ending in ${c.last4}`),
    h('span', { class: 'muted' }, `Expires ${String(c.exp_month).padStart(2, '0')}/${c.exp_year}`, c.default ? ' · ' : '', c.default ? h('span', { class: 'badge' }, 'Default') : null)))));
}

const INVOICE_STATUS = { paid: ['Paid', 'ok'], open: ['Due', 'warn'], void: ['Void', 'neutral'], uncollectible: ['Unpaid', 'bad'] };

function renderInvoices(data) {
  const box = clear($('invoices-body'));
  const invoices = data.invoices || [];
  if (!invoices.length) {
    box.append(h('p', { class: 'muted' }, 'No invoices yet.'));
    return;
  }
  box.append(h('div', { class: 'table-wrap' }, h('table', { id: 'invoice-table', class: 'stack-table' },
    h('caption', { class: 'visually-hidden' }, 'Your invoices, newest first'),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Date'), h('th', { scope: 'col' }, 'Invoice'), h('th', { scope: 'col', class: 'num' }, 'Amount'),
      h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Link')))),
    h('tbody', {}, invoices.map((inv) => {
      const [label, kind] = INVOICE_STATUS[inv.status] || [inv.status, 'neutral'];
      return h('tr', {},
        h('td', {}, date(inv.created)),
        h('td', {}, inv.number || inv.id),
        h('td', { class: 'num' }, money(inv.total ?? inv.amount_due, inv.currency)),
        h('td', {}, h('span', { class: `badge ${kind}` }, label)),
        h('td', {}, inv.hosted_invoice_url
          ? h('a', { href: inv.hosted_invoice_url, target: '_blank', rel: 'noopener noreferrer' }, 'View invoice', h('span', { class: 'visually-hidden' }, ` ${inv.number || inv.id} (opens in a new tab)`))
          : ''));
    })))));
}

/* Loads one section; a failure shows its own error with a retry. */
async function section(containerId, title, fetcher, render) {
  loading($(containerId), 'Loading…');
  try {
    render(await fetcher());
  } catch (error) {
    failure($(containerId), title, error, () => section(containerId, title, fetcher, render));
  }
}

/* --- actions ------------------------------------------------------------ */

function actionError(boxId, error) {
  clear($(boxId)).append(h('div', { class: 'state error', role: 'alert' }, error.message));
}

async function refreshStatus(message) {
  state.status = await api.status();
  renderPlan();
  section('usage-body', 'Usage could not be loaded.', api.usageDaily, renderUsage);
  section('invoices-body', 'Invoices could not be loaded.', api.invoices, renderInvoices);
  if (message) announce($('announcer'), message);
  $('plan-heading').focus();
}

async function resume(event) {
  const button = event.currentTarget;
  button.disabled = true;
  clear($('plan-error'));
  try {
    await api.resume();
    await refreshStatus('Your subscription is resumed.');
  } catch (error) {
    button.disabled = false;
    actionError('plan-error', error);
  }
}

function openCancel(opener) {
  $('cancel-period-end').textContent = state.status.current_period_end ? `You keep access until ${date(state.status.current_period_end)}.` : '';
  clear($('cancel-error'));
  $('cancel-form').elements.when.value = 'period_end';
  openDialog($('cancel-dialog'), opener);
}

async function confirmCancel(event) {
  event.preventDefault();
  const button = $('cancel-confirm');
  button.disabled = true;
  try {
    const atPeriodEnd = $('cancel-form').elements.when.value !== 'now';
    await api.cancel(atPeriodEnd);
    $('cancel-dialog').close();
    await refreshStatus(atPeriodEnd ? 'Your subscription will end at the end of the period.' : 'Your subscription is canceled.');
  } catch (error) {
    actionError('cancel-error', error);
  } finally {
    button.disabled = false;
  }
}

function openChange(opener) {
  const s = state.status;
  const list = h('fieldset', { class: 'choice-list' }, h('legend', {}, 'New plan'));
  let first = true;
  for (const plan of state.plans) {
    if (plan.trial_days > 0) continue; // the trial is bought, not switched to
    for (const interval of ['month', 'year']) {
      const cents = priceFor(plan, interval);
      if (cents === null || (plan.id === s.plan_id && interval === (s.interval || 'month'))) continue;
      // Tiers follow the catalogue's order (the API lists plans cheapest first).
      const rank = state.plans.indexOf(plan) - state.plans.findIndex((p) => p.id === s.plan_id);
      const kind = rank > 0 ? 'Upgrade' : rank < 0 ? 'Downgrade' : `Switch to ${intervalName(interval)} billing`;
      list.append(h('label', { class: 'choice' },
        h('input', { type: 'radio', name: 'target', value: `${plan.id}:${interval}`, checked: first, required: true }),
        h('span', { class: 'choice-main' }, h('strong', {}, `${plan.name}, ${intervalName(interval)}`),
          h('small', {}, `${kind} · ${quotaPhrase(plan)}`)),
        h('span', { class: 'choice-price' }, `${money(cents, plan.currency)} ${per(plan, interval)}`)));
      first = false;
    }
  }
  clear($('change-choices')).append(list);
  clear($('change-error'));
  openDialog($('change-dialog'), opener);
}

async function confirmChange(event) {
  event.preventDefault();
  const chosen = $('change-form').elements.target;
  const value = chosen && (chosen.value || (chosen[0] && chosen[0].value));
  if (!value) return;
  const [planId, interval] = value.split(':');
  const button = $('change-confirm');
  button.disabled = true;
  try {
    await api.changePlan(planId, interval);
    $('change-dialog').close();
    const plan = planOf(planId);
    await refreshStatus(`Your plan is now ${plan ? plan.name : planId}, ${intervalName(interval)}.`);
  } catch (error) {
    actionError('change-error', error);
  } finally {
    button.disabled = false;
  }
}

async function portal(event) {
  const button = event.currentTarget;
  button.disabled = true;
  clear($('portal-error'));
  try {
    const session = await api.portal(window.location.href);
    window.location.assign(session.url);
  } catch (error) {
    button.disabled = false;
    actionError('portal-error', error.code === 'no_customer' ? { message: 'You have no payment methods yet: they are added when you pay for a plan.' } : error);
  }
}

/* --- start -------------------------------------------------------------- */

async function start() {
  loading($('page-state'), 'Loading your billing settings…');
  try {
    const [status, catalogue] = await Promise.all([api.status(), api.plans()]);
    state.status = status;
    state.plans = catalogue.plans || [];
  } catch (error) {
    if (error.status === 401 && await signIn()) return;
    failure($('page-state'), 'Your billing settings could not be loaded.', error, start).focus();
    return;
  }
  clear($('page-state'));
  $('settings').hidden = false;
  renderPlan();
  section('usage-body', 'Usage could not be loaded.', api.usageDaily, renderUsage);
  section('methods-body', 'Payment methods could not be loaded.', api.paymentMethods, renderMethods);
  section('invoices-body', 'Invoices could not be loaded.', api.invoices, renderInvoices);
}

$('cancel-form').addEventListener('submit', confirmCancel);
$('change-form').addEventListener('submit', confirmChange);
$('cancel-close').addEventListener('click', () => $('cancel-dialog').close());
$('change-close').addEventListener('click', () => $('change-dialog').close());
$('portal').addEventListener('click', portal);
start();
