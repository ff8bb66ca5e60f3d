// GridWorld trajectories: the map as SVG, the path step by step, slips and wall bumps marked.
//
// A state is an index into environment.positions ([row, column] of the non-wall cells, row by
// row). Actions are indices into environment.actions (names up, down, right, left) or names.
// A trajectory records s₀ … s_{T−1} and a₀ … a_{T−1}; the cell the last action led to is
// states[T] when present, otherwise inferred: a whole episode (it starts on S) that is shorter
// than the horizon ended on a goal or trap cell next to s_{T−1}. Rewards are never read.
'use strict';

(() => {
  const { el, svg } = RLHF;
  const MOVES = { up: [-1, 0], down: [1, 0], right: [0, 1], left: [0, -1] };
  const GLYPH = { up: '↑', down: '↓', right: '→', left: '←' };
  const CELL_NAMES = { '.': 'floor', '#': 'wall', 'S': 'start', 'G': 'goal', 'T': 'trap' };
  const FILL = { '.': '#f8fafc', '#': '#374151', 'S': '#dbeafe', 'G': '#86efac', 'T': '#fca5a5' };
  const LETTER_FILL = { 'S': '#1e3a8a', 'G': '#14532d', 'T': '#7f1d1d' };
  const SIDE_COLOR = { a: '#1d4ed8', b: '#9333ea' };
  const SLIP_COLOR = '#d97706';
  let uid = 0;

  function parseMap(env) {
    let rows = env.map;
    if (typeof rows === 'string') rows = rows.split('\n');
    if (!Array.isArray(rows) || rows.length === 0 || rows.some((r) => typeof r !== 'string')) {
      throw new Error('the environment has no map');
    }
    const columns = Math.max(...rows.map((r) => r.length));
    let positions = env.positions;
    if (!Array.isArray(positions)) {
      positions = [];
      rows.forEach((line, r) => { for (let c = 0; c < line.length; c++) if (line[c] !== '#') positions.push([r, c]); });
    }
    const stateOf = new Map();
    positions.forEach((p, s) => stateOf.set(p[0] + ',' + p[1], s));
    const cell = (r, c) => (r >= 0 && r < rows.length && c >= 0 && c < rows[r].length) ? rows[r][c] : '#';
    let start = null;
    rows.forEach((line, r) => { const c = line.indexOf('S'); if (c >= 0 && start === null) start = stateOf.get(r + ',' + c); });
    return { rows, columns, positions, stateOf, cell, start };
  }

  function analyze(env, traj) {
    const map = parseMap(env);
    const names = Array.isArray(env.actions) && env.actions.length ? env.actions.map(String) : ['up', 'down', 'right', 'left'];
    const states = Array.isArray(traj.states) ? traj.states : [];
    const rawActions = Array.isArray(traj.actions) ? traj.actions : [];
    const nStates = map.positions.length;
    for (const s of states) {
      if (!Number.isInteger(s) || s < 0 || s >= nStates) throw new Error('a state is not a cell of the map');
    }
    const actions = rawActions.map((a) => {
      const name = typeof a === 'number' ? names[a] : String(a);
      if (!(name in MOVES)) throw new Error('unknown action ' + JSON.stringify(a));
      return name;
    });
    const T = actions.length;
    if (T > 0 && states.length < T) throw new Error('fewer states than actions');
    if (states.length === 0) throw new Error('no states');
    const typeOf = (s) => { const p = map.positions[s]; return map.cell(p[0], p[1]); };
    const isTerminal = (s) => { const k = typeOf(s); return k === 'G' || k === 'T'; };
    const succ = (s, name) => {
      const p = map.positions[s]; const m = MOVES[name];
      const r = p[0] + m[0], c = p[1] + m[1];
      if (map.cell(r, c) === '#') return s;
      const n = map.stateOf.get(r + ',' + c);
      return n === undefined ? s : n;
    };
    const wentBy = (from, to) => Object.keys(MOVES).filter((n) => succ(from, n) === to);

    const horizon = Number.isInteger(env.horizon) ? env.horizon : null;
    const wholeEpisode = map.start !== null && states[0] === map.start;
    const steps = [];
    let lastUnknown = false;
    for (let t = 0; t < T; t++) {
      const from = states[t], action = actions[t], intended = succ(from, action);
      let to = null, inferred = false;
      if (t + 1 < states.length) {
        to = states[t + 1];
      } else if (Number.isInteger(traj.final_state) && traj.final_state >= 0 && traj.final_state < nStates) {
        to = traj.final_state;
      } else {
        // The last move's cell is not recorded: infer it where the episode must have ended.
        inferred = true;
        if (wholeEpisode && horizon !== null && T < horizon) {
          const candidates = [...new Set(Object.keys(MOVES).map((n) => succ(from, n)))].filter(isTerminal);
          if (isTerminal(intended)) to = intended;
          else if (candidates.length === 1) to = candidates[0];
        }
        if (to === null) { to = intended; lastUnknown = true; }
      }
      const slip = to !== intended;
      const bump = intended === from && to === from;
      steps.push({ t, from, action, intended, to, slip, bump, inferred, unknown: lastUnknown && t === T - 1,
                   went: slip ? wentBy(from, to) : [action] });
    }
    // Where the agent was last seen: the unrecorded last move is drawn dashed, not taken.
    const final = T === 0 ? states[0] : lastUnknown ? steps[T - 1].from : steps[T - 1].to;
    let outcome;
    if (lastUnknown) outcome = horizon !== null && T >= horizon ? 'horizon' : 'unknown';
    else if (typeOf(final) === 'G') outcome = 'goal';
    else if (typeOf(final) === 'T') outcome = 'trap';
    else if (horizon !== null && T >= horizon) outcome = 'horizon';
    else outcome = 'stopped';
    return { map, steps, states, T, final, outcome, horizon, typeOf, wholeEpisode };
  }

  function rc(map, s) {
    const p = map.positions[s];
    return 'row ' + (p[0] + 1) + ', column ' + (p[1] + 1);
  }

  function slipText(st) {
    if (st.to === st.from) return 'slipped and stayed';
    if (st.went.length) return 'slipped and went ' + GLYPH[st.went[0]] + ' ' + st.went[0];
    return 'slipped (moved to a cell no action reaches)';
  }

  function lastMove(a) {
    const st = a.steps[a.T - 1];
    const into = a.typeOf(st.intended);
    const target = into === 'G' ? ' into the goal' : into === 'T' ? ' into a trap' : '';
    return ' (its last move, ' + GLYPH[st.action] + ' ' + st.action + target + ', is not recorded)';
  }

  function outcomeText(a) {
    const where = rc(a.map, a.final);
    switch (a.outcome) {
      case 'goal': return 'in the goal G (' + where + ')';
      case 'trap': return 'in a trap T (' + where + ')';
      case 'horizon': return 'at the step limit ' + a.horizon + ', on ' + where + (a.T > 0 && a.steps[a.T - 1].unknown ? lastMove(a) : '');
      case 'unknown': return 'on ' + where + lastMove(a);
      default: return 'on ' + where;
    }
  }

  function build(env, traj, side, shared) {
    const a = analyze(env, traj);
    const { map } = a;
    const C = 60, M = 22; // cell size and the margin holding row and column numbers
    const W = M + map.columns * C + 2, H = M + map.rows.length * C + 2;
    const small = map.columns > 12 || map.rows.length > 12;
    const color = SIDE_COLOR[side] || '#111827';
    const id = 'gw' + (++uid);
    const center = (s) => { const p = map.positions[s]; return [M + p[1] * C + C / 2, M + p[0] * C + C / 2]; };

    const root = svg('svg', {
      class: 'scene grid', viewBox: '0 0 ' + W + ' ' + H, role: 'img',
      'aria-label': 'Trajectory ' + side.toUpperCase() + ': ' + a.T + ' steps, ended ' + outcomeText(a),
    });
    root.appendChild(svg('defs', {},
      svg('marker', { id: id + '-arrow', viewBox: '0 0 10 10', refX: 7, refY: 5, markerWidth: 4, markerHeight: 4, orient: 'auto-start-reverse' },
        svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: color })),
      svg('marker', { id: id + '-slip', viewBox: '0 0 10 10', refX: 7, refY: 5, markerWidth: 4, markerHeight: 4, orient: 'auto-start-reverse' },
        svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: SLIP_COLOR })),
      svg('marker', { id: id + '-ghost', viewBox: '0 0 10 10', refX: 7, refY: 5, markerWidth: 5, markerHeight: 5, orient: 'auto-start-reverse' },
        svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#6b7280' }))));

    // The map.
    const cells = svg('g', {});
    map.rows.forEach((line, r) => {
      for (let c = 0; c < map.columns; c++) {
        const k = c < line.length ? line[c] : '#';
        const x = M + c * C, y = M + r * C;
        cells.appendChild(svg('rect', { x, y, width: C, height: C, fill: FILL[k] || FILL['.'], stroke: '#9ca3af', 'stroke-width': 1 }));
        if (k === 'T') { // a faint cross makes traps recognisable without colour
          const d = C * 0.2;
          cells.appendChild(svg('path', { d: 'M' + (x + d) + ',' + (y + d) + ' L' + (x + C - d) + ',' + (y + C - d) + ' M' + (x + C - d) + ',' + (y + d) + ' L' + (x + d) + ',' + (y + C - d),
            stroke: '#b91c1c', 'stroke-width': 3, opacity: 0.35 }));
        }
        if (k === 'G') { // a faint flag
          cells.appendChild(svg('path', { d: 'M' + (x + C * 0.42) + ',' + (y + C * 0.78) + ' V' + (y + C * 0.22) + ' L' + (x + C * 0.74) + ',' + (y + C * 0.34) + ' L' + (x + C * 0.42) + ',' + (y + C * 0.46),
            stroke: '#166534', 'stroke-width': 3, fill: '#22c55e', opacity: 0.45 }));
        }
        if (k === 'G' || k === 'T' || k === 'S') {
          if (small) {
            cells.appendChild(svg('text', { x: x + C / 2, y: y + C * 0.68, 'text-anchor': 'middle', 'font-size': C * 0.5,
              'font-weight': 700, fill: LETTER_FILL[k], 'font-family': 'sans-serif' }, k));
          } else {
            cells.appendChild(svg('text', { x: x + 4, y: y + 17, 'font-size': 17, 'font-weight': 700, fill: LETTER_FILL[k], 'font-family': 'sans-serif' }, k));
            cells.appendChild(svg('text', { x: x + C - 4, y: y + C - 5, 'text-anchor': 'end', 'font-size': 11, fill: LETTER_FILL[k], 'font-family': 'sans-serif' }, CELL_NAMES[k]));
          }
        }
      }
    });
    for (let c = 0; c < map.columns; c++) {
      cells.appendChild(svg('text', { x: M + c * C + C / 2, y: M - 6, 'text-anchor': 'middle', 'font-size': 12, fill: '#6b7280', 'font-family': 'sans-serif' }, String(c + 1)));
    }
    for (let r = 0; r < map.rows.length; r++) {
      cells.appendChild(svg('text', { x: M - 6, y: M + r * C + C / 2 + 4, 'text-anchor': 'end', 'font-size': 12, fill: '#6b7280', 'font-family': 'sans-serif' }, String(r + 1)));
    }
    root.appendChild(cells);

    // The start of this trajectory: a hollow ring.
    const [sx, sy] = center(a.states[0]);
    root.appendChild(svg('circle', { cx: sx, cy: sy, r: C * 0.13, fill: 'none', stroke: color, 'stroke-width': 2.5 }));

    // One group per step, shown once the slider has passed it.
    const edgeUse = new Map();
    const stepGroups = a.steps.map((st) => {
      const g = svg('g', { display: 'none' });
      const [x0, y0] = center(st.from);
      const [x1, y1] = center(st.to);
      if (st.from !== st.to) {
        const key = Math.min(st.from, st.to) + '-' + Math.max(st.from, st.to);
        const k = edgeUse.get(key) || 0;
        edgeUse.set(key, k + 1);
        // Repeated passes over an edge are drawn side by side.
        const off = [0, 9, -9, 18, -18][k % 5];
        const len = Math.hypot(x1 - x0, y1 - y0), nx = -(y1 - y0) / len * off, ny = (x1 - x0) / len * off;
        const shrink = 0.1;
        const ax = x0 + (x1 - x0) * shrink + nx, ay = y0 + (y1 - y0) * shrink + ny;
        const bx = x1 - (x1 - x0) * shrink + nx, by = y1 - (y1 - y0) * shrink + ny;
        g.appendChild(svg('line', { x1: ax, y1: ay, x2: bx, y2: by, stroke: st.slip ? SLIP_COLOR : color,
          'stroke-width': 5, 'stroke-linecap': 'round', 'stroke-dasharray': st.slip || st.unknown ? '7 5' : null,
          'marker-end': 'url(#' + id + (st.slip ? '-slip' : '-arrow') + ')', opacity: st.unknown ? 0.55 : 0.9 }));
      }
      if (st.slip) {
        // Where the chosen action would have led: a grey dashed arrow.
        const m = MOVES[st.action];
        const gx = x0 + m[1] * C * 0.46, gy = y0 + m[0] * C * 0.46;
        g.appendChild(svg('line', { x1: x0 + m[1] * C * 0.1, y1: y0 + m[0] * C * 0.1, x2: gx, y2: gy, stroke: '#4b5563',
          'stroke-width': 3, 'stroke-dasharray': '4 3', 'marker-end': 'url(#' + id + '-ghost)' }));
        const bx = x1 + C * 0.26, by = y1 - C * 0.26;
        g.appendChild(svg('circle', { cx: bx, cy: by, r: 9, fill: SLIP_COLOR, stroke: '#fff', 'stroke-width': 1.5 }));
        g.appendChild(svg('text', { x: bx, y: by + 4.5, 'text-anchor': 'middle', 'font-size': 13, 'font-weight': 700, fill: '#fff', 'font-family': 'sans-serif' }, '!'));
      }
      if (st.bump) {
        // Bumped into a wall or the edge with the chosen action: a bar on that side of the cell.
        const m = MOVES[st.action];
        const ex = x0 + m[1] * C * 0.44, ey = y0 + m[0] * C * 0.44;
        const hx = m[0] !== 0 ? C * 0.22 : 0, hy = m[1] !== 0 ? C * 0.22 : 0;
        g.appendChild(svg('line', { x1: ex - hx, y1: ey - hy, x2: ex + hx, y2: ey + hy, stroke: color, 'stroke-width': 5, 'stroke-linecap': 'round' }));
      }
      if (st.unknown) {
        g.appendChild(svg('text', { x: x1 + C * 0.26, y: y1 - C * 0.14, 'text-anchor': 'middle', 'font-size': 18, 'font-weight': 700, fill: color, 'font-family': 'sans-serif' }, '?'));
      }
      root.appendChild(g);
      return g;
    });

    // The agent.
    const agent = svg('g', {});
    agent.appendChild(svg('circle', { r: C * 0.24, fill: color, stroke: '#fff', 'stroke-width': 3 }));
    agent.appendChild(svg('text', { y: 6, 'text-anchor': 'middle', 'font-size': 17, 'font-weight': 700, fill: '#fff', 'font-family': 'sans-serif' }, side.toUpperCase()));
    root.appendChild(agent);

    // The strip of chosen actions.
    const strip = el('div', { class: 'steps', 'aria-hidden': 'true' });
    const boxes = a.steps.map((st) => {
      let title = 'step ' + (st.t + 1) + ': chose ' + st.action;
      if (st.slip) title += ', ' + slipText(st);
      if (st.bump) title += ', bumped a wall and stayed';
      const box = el('span', { class: 'step' + (st.slip ? ' slip' : '') + (st.bump ? ' bump' : ''), title }, GLYPH[st.action]);
      box.addEventListener('click', () => shared.seek(st.t + 1));
      strip.appendChild(box);
      return box;
    });
    const endLabel = { goal: 'G', trap: 'T', horizon: 'limit', unknown: '?', stopped: 'end' }[a.outcome];
    const endBox = el('span', { class: 'step end ' + a.outcome, title: 'ended ' + outcomeText(a) }, endLabel);
    endBox.addEventListener('click', () => shared.seek(a.T));
    strip.appendChild(endBox);

    // The facts.
    const slips = a.steps.filter((s) => s.slip);
    const bumps = a.steps.filter((s) => s.bump);
    const endClass = a.outcome === 'goal' ? 'goal' : a.outcome === 'trap' ? 'trap' : null;
    const now = el('div', { class: 'now' });
    const facts = el('div', { class: 'facts' },
      el('dl', {},
        el('dt', {}, 'Steps'), el('dd', {}, String(a.T)),
        el('dt', {}, 'Ended'), el('dd', { class: endClass }, outcomeText(a)),
        el('dt', {}, 'Slips'), el('dd', { class: slips.length ? 'slipcount' : null },
          slips.length ? slips.length + ' (step' + (slips.length > 1 ? 's ' : ' ') + slips.map((s) => s.t + 1).join(', ') + ')' : 'none'),
        el('dt', {}, 'Wall bumps'), el('dd', {}, bumps.length ? String(bumps.length) : 'none')),
      now);

    const node = el('div', {}, el('div', { class: 'view' }, root, facts), strip);

    function update(t) {
      const k = Math.max(0, Math.min(t, a.T));
      stepGroups.forEach((g, i) => g.setAttribute('display', i < k ? 'inline' : 'none'));
      boxes.forEach((b, i) => {
        b.classList.toggle('future', i >= k);
        b.classList.toggle('current', i === k - 1);
      });
      endBox.classList.toggle('future', k < a.T);
      const s = k === 0 ? a.states[0] : a.steps[k - 1].unknown ? a.steps[k - 1].from : a.steps[k - 1].to;
      const [x, y] = center(s);
      agent.setAttribute('transform', 'translate(' + x + ',' + y + ')');
      let text;
      if (k === 0) {
        text = 'Step 0: starts on ' + rc(map, s) + '.';
        if (a.T > 0) text += ' Next: ' + GLYPH[a.steps[0].action] + ' ' + a.steps[0].action + '.';
      } else {
        const st = a.steps[k - 1];
        text = 'Step ' + k + ': chose ' + GLYPH[st.action] + ' ' + st.action;
        if (st.unknown) text += ' from ' + rc(map, s) + '; where it led is not recorded.';
        else if (st.slip) text += ', ' + slipText(st) + '; now on ' + rc(map, s) + '.';
        else if (st.bump) text += ', bumped into a wall and stayed on ' + rc(map, s) + '.';
        else text += '; now on ' + rc(map, s) + '.';
        if (k === a.T && !st.unknown) text += ' Ended ' + outcomeText(a) + '.';
      }
      if (t > a.T) text = 'Finished after ' + a.T + ' steps: ended ' + outcomeText(a) + '.';
      now.textContent = text;
    }

    return { node, positions: a.T + 1, steps: a.T, update };
  }

  function legend() {
    const item = (cls, letter, text) => el('span', { class: 'item' }, el('span', { class: 'swatch ' + cls, 'aria-hidden': 'true' }, letter || ''), text);
    return [
      item('floor', '', 'floor'), item('wall', '', 'wall'), item('start', 'S', 'start'),
      item('goal', 'G', 'goal (ends the episode)'), item('trap', 'T', 'trap (ends the episode)'),
      item('line-a', '', 'path of A'), item('line-b', '', 'path of B'),
      item('slip', '!', 'slipped: did not go where it chose (grey arrow = chosen direction)'),
      el('span', { class: 'item' }, el('span', { class: 'swatch', 'aria-hidden': 'true' }, '▎'), 'bumped a wall, stayed (not a slip)'),
    ];
  }

  RLHF.kinds = RLHF.kinds || {};
  RLHF.kinds.gridworld = { build, legend, frameMs: 450, startAtEnd: true, analyze };
})();
