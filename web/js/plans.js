// plans.js - /plans.html: the catalogue as cards, from GET /api/v1/subscriptions/plans.
import { api } from './api.js';
import { h, clear, loading, failure } from './dom.js';
import { money, quota, priceFor, per, yearlySaving, featureName, allFeatures, number } from './format.js';

const POPULAR = 'professional';
const container = document.getElementById('plans');
const savingNote = document.getElementById('saving');
let plans = [];

function interval() {
  return document.querySelector('input[name="interval"]:checked').value;
}

function card(plan, features, chosen) {
  const offered = priceFor(plan, chosen);
  const shown = offered === null ? 'month' : chosen; // the trial is sold by the week, whatever the switch says
  const cents = priceFor(plan, shown);
  const saving = chosen === 'year' ? yearlySaving(plan) : 0;
  const headingId = `plan-${plan.id}-name`;
  let note = '';
  if (chosen === 'year' && offered === null) note = 'Not offered yearly';
  else if (saving > 0) note = `Save ${saving}% (${money(plan.price_monthly_cents * 12 - plan.price_yearly_cents, plan.currency)} a year)`;
  else if (chosen === 'year' && plan.price_yearly_cents) note = `${money(Math.round(plan.price_yearly_cents / 12), plan.currency)} a month, billed yearly`;
  const href = `/signup-flow.html?plan=${encodeURIComponent(plan.id)}&interval=${shown}`;
  return h('li', { class: `card plan-card${plan.id === POPULAR ? ' popular' : ''}`, 'aria-labelledby': headingId, 'data-plan': plan.id },
    plan.id === POPULAR ? h('span', { class: 'badge popular-badge' }, 'Most popular') : null,
    h('h2', { id: headingId }, plan.name),
    h('p', { class: 'muted' }, plan.description || ''),
    h('p', { class: 'price' }, money(cents, plan.currency), ' ', h('span', { class: 'per' }, per(plan, shown))),
    h('p', { class: 'price-note' }, note),
    h('dl', { class: 'facts' },
      h('div', {}, h('dt', {}, 'API calls'), h('dd', { 'data-fact': 'quota' }, quota(plan))),
      h('div', {}, h('dt', {}, 'Seats'), h('dd', {}, number(plan.seats ?? 1))),
      h('div', {}, h('dt', {}, 'BYOK'), h('dd', {}, plan.byok ? 'Yes' : 'No'))),
    h('ul', { class: 'features', 'aria-label': `${plan.name} features` },
      features.map((f) => {
        const has = (plan.features || []).includes(f);
        return h('li', {},
          h('span', { class: has ? 'check' : 'cross', 'aria-hidden': 'true' }, has ? '✓' : '–'),
          h('span', {}, featureName(f), h('span', { class: 'visually-hidden' }, has ? ' (included)' : ' (not included)')));
      })),
    h('a', { class: plan.id === POPULAR ? 'button block' : 'button secondary block', href, 'aria-label': `Choose ${plan.name}${offered === null && chosen === 'year' ? '' : chosen === 'year' ? ' yearly' : ' monthly'}` },
      `Choose ${plan.name}`),
  );
}

function render() {
  const chosen = interval();
  const features = allFeatures(plans);
  clear(container).append(h('ul', { class: 'plan-grid' }, plans.map((p) => card(p, features, chosen))));
  container.setAttribute('aria-busy', 'false');
  const best = Math.max(0, ...plans.map(yearlySaving));
  savingNote.textContent = chosen === 'year' && best > 0 ? `Yearly billing saves up to ${best}%.` : best > 0 ? `Switch to yearly and save up to ${best}%.` : '';
}

async function load() {
  container.setAttribute('aria-busy', 'true');
  loading(container, 'Loading plans…');
  try {
    const data = await api.plans();
    plans = data.plans || [];
    render();
  } catch (error) {
    container.setAttribute('aria-busy', 'false');
    const retry = failure(container, 'The plans could not be loaded.', error, load);
    retry.focus();
  }
}

document.getElementById('interval-switch').addEventListener('change', () => {
  if (plans.length) render();
});
const wanted = new URLSearchParams(window.location.search).get('interval');
if (wanted === 'year' || wanted === 'month') document.querySelector(`input[name="interval"][value="${wanted}"]`).checked = true;
load();
