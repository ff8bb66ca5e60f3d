// The labeling page: pick a project, fetch the next task, show the pair side by side (A = first,
// B = second), answer with the buttons or the keyboard, repeat.
//
// Only the environment and the trajectories' states and actions are handed to the renderers: a
// task's rewards, returns and simulation block are never shown.
'use strict';

(() => {
  const { api, el, clear, showMessage, wireHeader } = RLHF;
  const $ = (id) => document.getElementById(id);

  const CHOICE_TEXT = { left: 'A is better', right: 'B is better', tie: "Can't tell", skip: 'Skip' };
  const page = {
    projects: [],
    project: null,
    task: null,
    views: [],
    kind: null,
    t: 0,
    max: 0,
    timer: null,
    busy: false,
    status: null,
  };

  function setState(s) { document.body.dataset.state = s; }

  // ---------- projects and progress ----------

  async function loadProjects() {
    const { data } = await api('GET', '/api/projects');
    page.projects = data && Array.isArray(data.projects) ? data.projects : [];
    const select = $('project');
    const keep = page.project;
    clear(select);
    const names = page.projects.map((p) => String(p.name));
    if (keep && !names.includes(keep)) names.unshift(keep);
    for (const name of names) {
      const p = page.projects.find((q) => String(q.name) === name);
      const label = p ? name + ' (' + (p.open ?? 0) + ' open' + (p.simulated ? ', simulated' : '') + ')' : name + ' (nothing open)';
      select.appendChild(el('option', { value: name }, label));
    }
    select.disabled = names.length === 0;
    if (keep) select.value = keep;
  }

  async function refreshStatus() {
    try {
      const { data } = await api('GET', '/api/status');
      page.status = data;
      wireHeader(data);
      renderProgress();
    } catch (e) {
      if (e.status !== 401) $('progress').textContent = 'Progress unavailable';
    }
  }

  function renderProgress() {
    const s = page.status;
    const box = $('progress');
    clear(box);
    if (!s) return;
    const proj = Array.isArray(s.projects) ? s.projects.find((p) => String(p.name) === page.project) : null;
    box.appendChild(document.createTextNode('Answered today: '));
    box.appendChild(el('strong', { id: 'answered-today' }, String(s.answered_today ?? 0)));
    if (proj) {
      box.appendChild(document.createTextNode(' · Queue: '));
      box.appendChild(el('strong', { id: 'queue' }, String(proj.queue ?? 0)));
    }
  }

  function chooseProject(name) {
    page.project = name;
    const url = new URL(location.href);
    url.searchParams.set('project', name);
    history.replaceState(null, '', url.pathname + url.search);
    try { localStorage.setItem('rlhf.project', name); } catch (_) { /* private mode */ }
  }

  // ---------- tasks ----------

  function stopPlaying() {
    if (page.timer !== null) { clearInterval(page.timer); page.timer = null; }
    $('play').textContent = '▶ Play';
    $('play').setAttribute('aria-pressed', 'false');
  }

  function seek(t) {
    page.t = Math.max(0, Math.min(page.max, t));
    $('slider').value = String(page.t);
    for (const v of page.views) v.update(page.t);
    const text = 'Step ' + page.t + ' / ' + page.max;
    $('stepcount').textContent = text;
    $('slider').setAttribute('aria-valuetext', text);
  }

  function play() {
    if (page.timer !== null) { stopPlaying(); return; }
    if (page.t >= page.max) seek(0);
    const speed = Number($('speed').value) || 1;
    const kind = RLHF.kinds[page.kind] || RLHF.kinds.generic;
    const ms = Math.max(16, kind.frameMs / speed);
    const per = Math.max(1, Math.round(16 / (kind.frameMs / speed))); // steps a tick when frames are faster than 60 Hz
    $('play').textContent = '⏸ Pause';
    $('play').setAttribute('aria-pressed', 'true');
    page.timer = setInterval(() => {
      if (page.t >= page.max) { stopPlaying(); return; }
      seek(page.t + per);
    }, ms);
  }

  // Only what annotators may see: the environment and each side's states and actions.
  function shown(traj) {
    const out = { states: traj && Array.isArray(traj.states) ? traj.states : [], actions: traj && Array.isArray(traj.actions) ? traj.actions : [] };
    if (traj && traj.final_state !== undefined) out.final_state = traj.final_state;
    return out;
  }

  function renderTask(task) {
    stopPlaying();
    page.task = task;
    const env = task.environment && typeof task.environment === 'object' ? task.environment : {};
    let kind = RLHF.kinds[env.kind] ? String(env.kind) : 'generic';
    const first = shown(task.first), second = shown(task.second);
    const shared = {
      maxSteps: Math.max(first.actions.length, second.actions.length),
      seek: (t) => { stopPlaying(); seek(t); },
      playing: () => page.timer !== null,
    };
    let views, note = null;
    try {
      views = [RLHF.kinds[kind].build(env, first, 'a', shared), RLHF.kinds[kind].build(env, second, 'b', shared)];
    } catch (e) {
      note = 'Could not draw this ' + kind + ' pair (' + e.message + '); showing the raw steps.';
      kind = 'generic';
      views = [RLHF.kinds.generic.build(env, first, 'a', shared), RLHF.kinds.generic.build(env, second, 'b', shared)];
    }
    page.kind = kind;
    page.views = views;
    const va = $('view-a'), vb = $('view-b');
    clear(va); clear(vb);
    va.appendChild(views[0].node);
    vb.appendChild(views[1].node);

    const info = $('taskinfo');
    clear(info);
    const envName = env.name !== undefined ? String(env.name) : kind;
    let text = 'Project ' + String(task.project ?? page.project) + ' · task ' + String(task.id) + ' · ' + envName + ' (' + String(env.kind ?? kind) + ')';
    const until = typeof task.expires_at === 'string' ? new Date(task.expires_at) : null;
    if (until && !isNaN(until.getTime())) {
      text += ' · reserved for you until ' + until.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    }
    info.appendChild(document.createTextNode(text));

    const legend = $('legend');
    clear(legend);
    for (const item of RLHF.kinds[kind].legend(env)) legend.appendChild(item);

    page.max = Math.max(0, Math.max(views[0].positions, views[1].positions) - 1);
    const slider = $('slider');
    slider.max = String(page.max);
    $('controls').hidden = page.max === 0;
    seek(RLHF.kinds[kind].startAtEnd ? page.max : 0);

    for (const b of document.querySelectorAll('.answers button')) { b.disabled = false; b.classList.remove('chosen'); }
    $('task').hidden = false;
    $('task').dataset.taskId = String(task.id);
    $('task').dataset.kind = kind;
    if (note) showMessage(note, 'error');
    setState('task');
  }

  async function loadNext() {
    stopPlaying();
    page.task = null;
    if (!page.project) {
      $('task').hidden = true;
      showMessage('There are no projects with tasks for you right now.');
      setState('empty');
      return;
    }
    setState('loading');
    try {
      const res = await api('GET', '/api/projects/' + encodeURIComponent(page.project) + '/next');
      if (res.status === 204 || !res.data) {
        $('task').hidden = true;
        const others = page.projects.filter((p) => String(p.name) !== page.project && (p.open ?? 0) > 0);
        showMessage('Nothing left to label in “' + page.project + '”. Thank you!' +
          (others.length ? ' Other projects with open tasks: ' + others.map((p) => String(p.name)).join(', ') + '.' : ''));
        setState('empty');
        return;
      }
      showMessage('');
      renderTask(res.data);
    } catch (e) {
      if (e.status === 401) return;
      $('task').hidden = true;
      showMessage('Could not fetch the next task: ' + e.message, 'error', { label: 'Try again', run: loadNext });
      setState('error');
    }
  }

  async function answer(choice) {
    const task = page.task;
    if (!task || page.busy) return;
    page.busy = true;
    stopPlaying();
    const buttons = document.querySelectorAll('.answers button');
    for (const b of buttons) { b.disabled = true; b.classList.toggle('chosen', b.dataset.choice === choice); }
    setState('answering');
    try {
      await api('POST', '/api/tasks/' + encodeURIComponent(String(task.id)) + '/answer', { slot: task.slot, choice });
      showMessage('Recorded: ' + CHOICE_TEXT[choice] + ' (task ' + String(task.id) + ').');
      await Promise.all([refreshStatus(), loadProjects().catch(() => {})]);
      await loadNext();
      if (page.task) showMessage('Recorded: ' + CHOICE_TEXT[choice] + ' (task ' + String(task.id) + ').');
    } catch (e) {
      if (e.status === 401) return;
      let text;
      if (e.status === 409) text = 'You already answered this task differently; your first answer stands.';
      else if (e.status === 403) text = 'This task is no longer yours (its lease may have expired): ' + e.message;
      else if (e.status === 404) text = 'This task no longer exists.';
      else text = 'Your answer was not recorded: ' + e.message;
      if (e.status === 409 || e.status === 403 || e.status === 404) {
        showMessage(text, 'error', { label: 'Next task', run: loadNext });
      } else {
        showMessage(text, 'error', { label: 'Try again', run: () => answer(choice) });
      }
      for (const b of buttons) b.disabled = false;
      setState('error');
    } finally {
      page.busy = false;
      $('pair').focus({ preventScroll: true });
    }
  }

  // ---------- keyboard ----------

  const KEYS = {
    ArrowLeft: 'left', '1': 'left', a: 'left', A: 'left',
    ArrowRight: 'right', '2': 'right', b: 'right', B: 'right',
    ArrowDown: 'tie', t: 'tie', T: 'tie', ' ': 'tie', Spacebar: 'tie',
    s: 'skip', S: 'skip',
  };

  function keyTarget(e) {
    const t = e.target;
    if (!t || !t.tagName) return 'page';
    const tag = t.tagName.toLowerCase();
    if (tag === 'select' || tag === 'textarea' || (tag === 'input' && t.type !== 'range') || t.isContentEditable) return 'text';
    if (tag === 'input' && t.type === 'range') return 'range';
    return 'page';
  }

  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const where = keyTarget(e);
    if (where === 'text') return;
    const choice = KEYS[e.key];
    if (!choice) return;
    // The slider keeps its arrow keys; letters and digits still answer.
    if (where === 'range' && e.key.startsWith('Arrow')) return;
    if (!page.task || $('task').hidden) return;
    e.preventDefault();
    if (e.repeat) return;
    answer(choice);
  });
  // A focused button would also "click" on Space's keyup; Space means "can't tell" here.
  document.addEventListener('keyup', (e) => {
    if (e.key === ' ' && keyTarget(e) === 'page' && page.task) e.preventDefault();
  });

  // ---------- wiring ----------

  for (const b of document.querySelectorAll('.answers button')) {
    b.addEventListener('click', () => answer(b.dataset.choice));
  }
  $('slider').addEventListener('input', () => { stopPlaying(); seek(Number($('slider').value)); });
  $('play').addEventListener('click', play);
  $('speed').addEventListener('change', () => { if (page.timer !== null) { stopPlaying(); play(); } });
  $('project').addEventListener('change', () => {
    chooseProject($('project').value);
    renderProgress();
    loadNext();
  });

  async function start() {
    setState('loading');
    try {
      await loadProjects();
    } catch (e) {
      if (e.status !== 401) { showMessage('Could not load the projects: ' + e.message, 'error', { label: 'Try again', run: start }); setState('error'); }
      return;
    }
    const wanted = new URLSearchParams(location.search).get('project');
    let stored = null;
    try { stored = localStorage.getItem('rlhf.project'); } catch (_) { /* private mode */ }
    const names = page.projects.map((p) => String(p.name));
    const open = page.projects.filter((p) => (p.open ?? 0) > 0).map((p) => String(p.name));
    const pick = wanted || (stored && open.includes(stored) ? stored : null) || open[0] || names[0] || null;
    if (pick) {
      chooseProject(pick);
      await loadProjects().catch(() => {});
    }
    await refreshStatus();
    await loadNext();
  }

  start();
})();
