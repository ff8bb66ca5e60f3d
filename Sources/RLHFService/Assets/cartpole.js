// CartPole trajectories: the cart and pole per time step, the track limits, and a small chart of
// the pole angle and cart position over the episode (same time axis on both sides).
//
// A state is {x, x_dot, theta, theta_dot} (xDot/thetaDot or a 4-array also accepted). The state
// after the last action is states[T] when present, otherwise computed with Gymnasium's Euler
// step (the dynamics are deterministic). Rewards are never read.
'use strict';

(() => {
  const { el, svg, fmt } = RLHF;
  const SIDE_COLOR = { a: '#1d4ed8', b: '#9333ea' };
  const G = 9.8, MC = 1.0, MP = 0.1, TOTAL = MC + MP, L = 0.5, PML = MP * L, F = 10.0, TAU = 0.02;

  function advance(s, push) {
    const force = push > 0 ? F : -F;
    const cos = Math.cos(s.theta), sin = Math.sin(s.theta);
    const temp = (force + PML * s.theta_dot * s.theta_dot * sin) / TOTAL;
    const thetaAcc = (G * sin - cos * temp) / (L * (4 / 3 - MP * cos * cos / TOTAL));
    const xAcc = temp - PML * thetaAcc * cos / TOTAL;
    return { x: s.x + TAU * s.x_dot, x_dot: s.x_dot + TAU * xAcc, theta: s.theta + TAU * s.theta_dot, theta_dot: s.theta_dot + TAU * thetaAcc };
  }

  function state(v) {
    let s;
    if (Array.isArray(v)) s = { x: v[0], x_dot: v[1], theta: v[2], theta_dot: v[3] };
    else if (v && typeof v === 'object') s = { x: v.x, x_dot: v.x_dot ?? v.xDot, theta: v.theta, theta_dot: v.theta_dot ?? v.thetaDot };
    else throw new Error('a CartPole state is not an object');
    for (const k of ['x', 'x_dot', 'theta', 'theta_dot']) {
      if (typeof s[k] !== 'number' || !isFinite(s[k])) throw new Error('a CartPole state has no number ' + k);
    }
    return s;
  }

  function analyze(env, traj) {
    const names = Array.isArray(env.actions) && env.actions.length ? env.actions.map(String) : ['left', 'right'];
    const states = (Array.isArray(traj.states) ? traj.states : []).map(state);
    const actions = (Array.isArray(traj.actions) ? traj.actions : []).map((a) => {
      const name = typeof a === 'number' ? names[a] : String(a);
      if (name === 'left' || name === '0') return -1;
      if (name === 'right' || name === '1') return 1;
      throw new Error('unknown CartPole action ' + JSON.stringify(a));
    });
    const T = actions.length;
    if (states.length === 0 || states.length < T) throw new Error('fewer states than actions');
    const frames = states.slice(0, T + 1);
    let computed = false;
    if (frames.length === T && T > 0) { frames.push(advance(frames[T - 1], actions[T - 1])); computed = true; }
    const xth = typeof env.x_threshold === 'number' ? env.x_threshold : 2.4;
    const thth = typeof env.theta_threshold === 'number' ? env.theta_threshold : 12 * Math.PI / 180;
    const horizon = Number.isInteger(env.horizon) ? env.horizon : null;
    const last = frames[frames.length - 1];
    let outcome;
    if (Math.abs(last.theta) > thth) outcome = 'fell';
    else if (Math.abs(last.x) > xth) outcome = 'track';
    else if (horizon !== null && T >= horizon) outcome = 'horizon';
    else outcome = 'stopped';
    return { frames, actions, T, xth, thth, horizon, outcome, computed };
  }

  const deg = (r) => r * 180 / Math.PI;

  function outcomeText(a) {
    switch (a.outcome) {
      case 'fell': return 'the pole fell past ' + fmt(deg(a.thth), 1) + '°';
      case 'track': return 'the cart left the track (|x| > ' + fmt(a.xth, 2) + ' m)';
      case 'horizon': return 'still balancing at the step limit ' + a.horizon;
      default: return 'the recording stops (pole still up)';
    }
  }

  function build(env, traj, side, shared) {
    const a = analyze(env, traj);
    const color = SIDE_COLOR[side] || '#111827';
    const W = 600, H = 210, ground = 160;
    const half = Math.max(3.0, a.xth * 1.2);
    const scale = W / (2 * half);
    const X = (x) => W / 2 + x * scale;
    const poleLen = 2 * L * scale;
    const cartW = 0.5 * scale, cartH = 0.3 * scale;

    const root = svg('svg', { class: 'scene cart', viewBox: '0 0 ' + W + ' ' + H, role: 'img',
      'aria-label': 'Trajectory ' + side.toUpperCase() + ': ' + a.T + ' steps, ' + outcomeText(a) });
    root.appendChild(svg('rect', { x: 0, y: 0, width: W, height: H, fill: '#f8fafc' }));
    root.appendChild(svg('rect', { x: 0, y: ground + 10, width: W, height: H - ground - 10, fill: '#e5e7eb' }));
    root.appendChild(svg('line', { x1: 0, y1: ground + 10, x2: W, y2: ground + 10, stroke: '#374151', 'stroke-width': 3 }));
    for (const sign of [-1, 1]) {
      const x = X(sign * a.xth);
      root.appendChild(svg('rect', { x: sign < 0 ? 0 : x, y: 0, width: sign < 0 ? x : W - x, height: ground + 10, fill: '#fee2e2', opacity: 0.6 }));
      root.appendChild(svg('line', { x1: x, y1: 8, x2: x, y2: ground + 22, stroke: '#b91c1c', 'stroke-width': 2.5, 'stroke-dasharray': '6 4' }));
      root.appendChild(svg('text', { x, y: H - 8, 'text-anchor': 'middle', 'font-size': 14, fill: '#b91c1c', 'font-family': 'sans-serif' },
        (sign < 0 ? '−' : '+') + fmt(a.xth, 2) + ' m'));
    }
    root.appendChild(svg('line', { x1: X(0), y1: ground + 10, x2: X(0), y2: ground + 20, stroke: '#374151', 'stroke-width': 2 }));
    root.appendChild(svg('text', { x: X(0), y: H - 8, 'text-anchor': 'middle', 'font-size': 13, fill: '#374151', 'font-family': 'sans-serif' }, '0'));
    const clock = svg('text', { x: W / 2, y: 20, 'text-anchor': 'middle', 'font-size': 14, fill: '#374151', 'font-family': 'sans-serif' }, '');
    root.appendChild(clock);

    // Cart (moved by a transform), pole (rotated around the pivot), the ±θ limit and the push.
    const cart = svg('g', {});
    const limits = svg('g', {});
    for (const sign of [-1, 1]) {
      const ang = sign * a.thth;
      limits.appendChild(svg('line', { x1: 0, y1: 0, x2: Math.sin(ang) * poleLen * 1.05, y2: -Math.cos(ang) * poleLen * 1.05,
        stroke: '#b91c1c', 'stroke-width': 1.5, 'stroke-dasharray': '4 4', opacity: 0.8 }));
    }
    const pole = svg('line', { x1: 0, y1: 0, x2: 0, y2: -poleLen, stroke: '#b45309', 'stroke-width': 9, 'stroke-linecap': 'round' });
    const push = svg('path', { d: '', fill: color });
    cart.appendChild(svg('rect', { x: -cartW / 2, y: -cartH, width: cartW, height: cartH, rx: 4, fill: color }));
    cart.appendChild(svg('circle', { cx: -cartW / 3, cy: 2, r: 7, fill: '#111827' }));
    cart.appendChild(svg('circle', { cx: cartW / 3, cy: 2, r: 7, fill: '#111827' }));
    cart.appendChild(svg('text', { x: 0, y: -cartH / 2 + 5, 'text-anchor': 'middle', 'font-size': 15, 'font-weight': 700, fill: '#fff', 'font-family': 'sans-serif' }, side.toUpperCase()));
    const pivot = svg('g', { transform: 'translate(0,' + (-cartH) + ')' }, limits, pole,
      svg('circle', { cx: 0, cy: 0, r: 5, fill: '#111827' }));
    cart.appendChild(pivot);
    cart.appendChild(push);
    root.appendChild(cart);

    // The chart: θ (top) and x (bottom) over time, shared time axis.
    const CW = 600, CH = 118, left = 58, right = 8;
    const tMax = Math.max(1, shared.maxSteps);
    const TX = (t) => left + (CW - left - right) * t / tMax;
    const chart = svg('svg', { class: 'chart', viewBox: '0 0 ' + CW + ' ' + CH, 'aria-hidden': 'true' });
    const panel = (y0, h, limit, value, label, unit) => {
      const Y = (v) => y0 + h / 2 - (Math.max(-1.25, Math.min(1.25, v / limit))) * h / 2.5;
      chart.appendChild(svg('rect', { x: left, y: y0, width: CW - left - right, height: h, fill: '#fff', stroke: '#d1d5db' }));
      for (const v of [-limit, limit]) chart.appendChild(svg('line', { x1: left, y1: Y(v), x2: CW - right, y2: Y(v), stroke: '#b91c1c', 'stroke-dasharray': '5 4', 'stroke-width': 1.2 }));
      chart.appendChild(svg('line', { x1: left, y1: Y(0), x2: CW - right, y2: Y(0), stroke: '#e5e7eb' }));
      chart.appendChild(svg('text', { x: left - 6, y: y0 + h / 2 - 3, 'text-anchor': 'end', 'font-size': 12, fill: '#374151', 'font-family': 'sans-serif' }, label));
      chart.appendChild(svg('text', { x: left - 6, y: y0 + h / 2 + 11, 'text-anchor': 'end', 'font-size': 10, fill: '#b91c1c', 'font-family': 'sans-serif' }, '±' + unit));
      const pts = a.frames.map((f, t) => TX(t).toFixed(1) + ',' + Y(value(f)).toFixed(1)).join(' ');
      chart.appendChild(svg('polyline', { points: pts, fill: 'none', stroke: color, 'stroke-width': 2 }));
    };
    panel(2, 48, a.thth, (f) => f.theta, 'angle θ', fmt(deg(a.thth), 1) + '°');
    panel(56, 48, a.xth, (f) => f.x, 'position x', fmt(a.xth, 2) + ' m');
    chart.appendChild(svg('text', { x: TX(a.T), y: CH - 2, 'text-anchor': a.T > tMax * 0.9 ? 'end' : 'middle', 'font-size': 11, fill: color, 'font-family': 'sans-serif' }, 'end: ' + a.T));
    chart.appendChild(svg('text', { x: left - 6, y: CH - 2, 'text-anchor': 'end', 'font-size': 11, fill: '#6b7280', 'font-family': 'sans-serif' }, 'time →'));
    const cursor = svg('line', { x1: left, y1: 2, x2: left, y2: 104, stroke: '#111827', 'stroke-width': 1.5 });
    chart.appendChild(cursor);

    const now = el('div', { class: 'now' });
    const facts = el('div', { class: 'facts' },
      el('dl', {},
        el('dt', {}, 'Episode length'), el('dd', {}, a.T + ' steps (' + fmt(a.T * TAU, 2) + ' s)'),
        el('dt', {}, 'Ended'), el('dd', { class: a.outcome === 'fell' || a.outcome === 'track' ? 'trap' : a.outcome === 'horizon' ? 'goal' : null }, outcomeText(a))),
      now);
    const node = el('div', { class: 'cartview' }, root, chart, facts);

    function update(t) {
      const k = Math.max(0, Math.min(t, a.frames.length - 1));
      const f = a.frames[k];
      const cx = Math.max(-half, Math.min(half, f.x));
      cart.setAttribute('transform', 'translate(' + X(cx).toFixed(2) + ',' + ground + ')');
      pole.setAttribute('transform', 'rotate(' + deg(f.theta).toFixed(2) + ')');
      const over = Math.abs(f.theta) > a.thth || Math.abs(f.x) > a.xth;
      pole.setAttribute('stroke', over ? '#dc2626' : '#b45309');
      if (k < a.T) {
        const dir = a.actions[k];
        const x0 = -dir * (cartW / 2 + 30), x1 = -dir * (cartW / 2 + 6), y = -cartH / 2;
        push.setAttribute('d', 'M' + x0 + ',' + (y - 3) + ' L' + (x1 - dir * 10) + ',' + (y - 3) + ' L' + (x1 - dir * 10) + ',' + (y - 9) +
          ' L' + x1 + ',' + y + ' L' + (x1 - dir * 10) + ',' + (y + 9) + ' L' + (x1 - dir * 10) + ',' + (y + 3) + ' L' + x0 + ',' + (y + 3) + ' z');
      } else {
        push.setAttribute('d', '');
      }
      clock.textContent = 't = ' + k + (k === a.frames.length - 1 && a.T > 0 ? ' (end)' : '');
      const cxPos = TX(k);
      cursor.setAttribute('x1', cxPos); cursor.setAttribute('x2', cxPos);
      let text = 'Step ' + k + ': x = ' + fmt(f.x, 2) + ' m, θ = ' + fmt(deg(f.theta), 1) + '°';
      if (k < a.T) text += ', pushes ' + (a.actions[k] > 0 ? '→ right' : '← left') + '.';
      else text += '. Ended: ' + outcomeText(a) + '.';
      if (t > a.T) text = 'Finished after ' + a.T + ' steps: ' + outcomeText(a) + '.';
      now.textContent = text;
    }

    return { node, positions: a.frames.length, steps: a.T, update };
  }

  function legend(env) {
    const item = (cls, text) => el('span', { class: 'item' }, el('span', { class: 'swatch ' + cls, 'aria-hidden': 'true' }), text);
    const th = typeof env.theta_threshold === 'number' ? env.theta_threshold : 12 * Math.PI / 180;
    const xth = typeof env.x_threshold === 'number' ? env.x_threshold : 2.4;
    return [
      item('limit', 'track limits (±' + fmt(xth, 2) + ' m) and the ±' + fmt(deg(th), 1) + '° pole-angle limit: crossing either ends the episode'),
      item('line-a', 'A'), item('line-b', 'B'),
      el('span', { class: 'item' }, 'Arrow on the cart: the push chosen at that step.'),
    ];
  }

  RLHF.kinds = RLHF.kinds || {};
  RLHF.kinds.cartpole = { build, legend, frameMs: 20, startAtEnd: false, analyze };
})();
