// The progress page: GET /api/status.
'use strict';

(() => {
  const { el, clear, api, showMessage, wireHeader } = RLHF;

  async function refresh() {
    try {
      const { data } = await api('GET', '/api/status');
      wireHeader(data);
      document.getElementById('answered-today').textContent = String(data.answered_today ?? '–');
      document.getElementById('answered').textContent = String(data.answered ?? '–');
      const body = document.getElementById('projects');
      clear(body);
      const projects = Array.isArray(data.projects) ? data.projects : [];
      if (projects.length === 0) {
        body.appendChild(el('tr', {}, el('td', { colspan: 5 }, 'No projects yet.')));
      }
      for (const p of projects) {
        const total = Number(p.comparisons) || 0;
        const done = Number(p.complete) || 0;
        const bar = el('span', { class: 'bar' });
        bar.style.width = (total > 0 ? Math.round(120 * done / total) : 0) + 'px';
        const link = el('a', { href: '/label?project=' + encodeURIComponent(String(p.name)) }, String(p.name));
        body.appendChild(el('tr', {},
          el('td', {}, link),
          el('td', {}, String(p.queue ?? '')),
          el('td', {}, String(p.complete ?? '')),
          el('td', {}, String(p.comparisons ?? '')),
          el('td', {}, el('span', { class: 'barbg' }, bar))));
      }
      showMessage('');
    } catch (e) {
      if (e.status !== 401) showMessage('Could not load the progress: ' + e.message, 'error');
    }
  }

  document.getElementById('refresh').addEventListener('click', refresh);
  refresh();
})();
