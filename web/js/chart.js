// chart.js - the usage chart: the running total of API calls at the end of
// each day of the window, as SVG bars, with the window's limit as a dashed
// line. Drawn with DOM calls (no inline markup, so the CSP holds).
import { number, shortDate } from './format.js';

const NS = 'http://www.w3.org/2000/svg';

function el(tag, attrs, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/* days: [{date, calls}], limit: number or null. Returns an <svg>. */
export function usageChart(days, limit, titleId, descId) {
  const width = 420;
  const height = 200;
  const pad = { left: 52, right: 8, top: 22, bottom: 28 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  let total = 0;
  const running = days.map((d) => (total += d.calls));
  const top = Math.max(1, total, limit ?? 0) * 1.1;
  const y = (v) => pad.top + plotH - (v / top) * plotH;
  const slot = plotW / Math.max(1, days.length);
  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-labelledby': `${titleId} ${descId}` });
  svg.append(el('title', { id: titleId }, 'API calls so far this period, day by day'));
  svg.append(el('desc', { id: descId },
    `${number(total)} calls in ${days.length} day${days.length === 1 ? '' : 's'}` +
    (limit === null || limit === undefined ? '; no limit.' : `; limit ${number(limit)}.`) + ' The table below has every day.'));
  svg.append(el('line', { class: 'axis', x1: pad.left, y1: pad.top + plotH, x2: width - pad.right, y2: pad.top + plotH }));
  svg.append(el('line', { class: 'axis', x1: pad.left, y1: pad.top, x2: pad.left, y2: pad.top + plotH }));
  svg.append(el('text', { x: pad.left - 6, y: pad.top + plotH, 'text-anchor': 'end' }, '0'));
  svg.append(el('text', { x: pad.left - 6, y: y(top / 1.1) + 4, 'text-anchor': 'end' }, number(Math.round(top / 1.1))));
  days.forEach((d, i) => {
    const h = Math.max(running[i] > 0 ? 1 : 0, pad.top + plotH - y(running[i]));
    const bar = el('rect', { class: 'bar', x: pad.left + i * slot + slot * 0.15, y: pad.top + plotH - h, width: Math.max(1, slot * 0.7), height: h });
    bar.append(el('title', {}, `${shortDate(d.date)}: ${number(d.calls)} calls, ${number(running[i])} so far`));
    svg.append(bar);
  });
  // Four or so date labels, evenly spaced back from the newest day.
  const step = Math.max(1, Math.ceil(days.length / 4));
  for (let i = days.length - 1; i >= 0; i -= step) {
    svg.append(el('text', { x: pad.left + i * slot + slot / 2, y: height - 8, 'text-anchor': 'middle' }, shortDate(days[i].date)));
  }
  if (limit !== null && limit !== undefined) {
    svg.append(el('line', { class: 'limit', x1: pad.left, y1: y(limit), x2: width - pad.right, y2: y(limit) }));
    svg.append(el('text', { class: 'limit-label', x: width - pad.right, y: y(limit) - 6, 'text-anchor': 'end' }, `Limit ${number(limit)}`));
  }
  return svg;
}
