// Any other environment: a compact table of states and actions per step. Rewards are never read.
'use strict';

(() => {
  const { el } = RLHF;

  function show(v) {
    let s;
    if (typeof v === 'number') s = String(+v.toPrecision(6));
    else if (typeof v === 'string') s = v;
    else {
      try { s = JSON.stringify(v, (k, x) => (typeof x === 'number' ? +x.toPrecision(6) : x)); } catch (_) { s = String(v); }
    }
    if (s === undefined) s = '';
    return s.length > 120 ? s.slice(0, 117) + '…' : s;
  }

  function build(env, traj, side, shared) {
    const names = Array.isArray(env.actions) ? env.actions.map(String) : null;
    const states = Array.isArray(traj.states) ? traj.states : [];
    const actions = Array.isArray(traj.actions) ? traj.actions : [];
    const n = Math.max(states.length, actions.length);
    const body = el('tbody', {});
    const rows = [];
    for (let t = 0; t < n; t++) {
      const a = actions[t];
      const name = a === undefined ? '' : (typeof a === 'number' && names && names[a] !== undefined ? names[a] : show(a));
      const row = el('tr', {}, el('td', {}, String(t)), el('td', { class: 'state' }, t < states.length ? show(states[t]) : ''), el('td', {}, name));
      row.addEventListener('click', () => shared.seek(t));
      body.appendChild(row);
      rows.push(row);
    }
    const table = el('table', { class: 'steps-table' },
      el('caption', { class: 'visually-hidden' }, 'Trajectory ' + side.toUpperCase() + ': states and actions'),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 't'), el('th', { scope: 'col' }, 'state'), el('th', { scope: 'col' }, 'action'))),
      body);
    const facts = el('div', { class: 'facts' }, el('dl', {}, el('dt', {}, 'Steps'), el('dd', {}, String(actions.length))));
    const wrap = el('div', { class: 'tablewrap' }, table);
    const node = el('div', {}, facts, wrap);
    function update(t) {
      rows.forEach((r, i) => r.classList.toggle('current', i === t));
      const r = rows[Math.min(t, rows.length - 1)];
      if (r && typeof r.scrollIntoView === 'function' && shared.playing()) r.scrollIntoView({ block: 'nearest' });
    }
    return { node, positions: Math.max(1, n), steps: actions.length, update };
  }

  function legend(env) {
    return [el('span', { class: 'item' }, 'Environment “' + String(env && env.name !== undefined ? env.name : 'generic') + '”: one row a step.')];
  }

  RLHF.kinds = RLHF.kinds || {};
  RLHF.kinds.generic = { build, legend, frameMs: 300, startAtEnd: false };
})();
