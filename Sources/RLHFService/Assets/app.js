// Shared helpers of the labeling pages: the JSON API client and DOM builders.
// Every piece of text that comes from the server or the user goes through textContent (el's
// string children) or setAttribute; nothing is ever assigned to innerHTML.
'use strict';

const RLHF = (() => {
  const SVG_NS = 'http://www.w3.org/2000/svg';

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // Calls a JSON route with the session cookie. Every request carries X-RLHF-Request: 1, which
  // the server requires on cookie-authenticated POSTs. Returns {status, data}; throws ApiError
  // for a non-2xx answer (401 sends the browser back to the sign-in page unless noRedirect).
  async function api(method, path, body, options = {}) {
    const init = {
      method,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { 'Accept': 'application/json', 'X-RLHF-Request': '1' },
    };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, 'The server cannot be reached (' + (e && e.message ? e.message : e) + ').');
    }
    let data = null;
    if (response.status !== 204) {
      const text = await response.text();
      if (text) {
        try { data = JSON.parse(text); } catch (_) { data = null; }
      }
    }
    if (!response.ok) {
      const message = data && typeof data.error === 'string' ? data.error : ('HTTP ' + response.status);
      if (response.status === 401 && !options.noRedirect) {
        location.assign('/?expired=1');
      }
      throw new ApiError(response.status, message);
    }
    return { status: response.status, data };
  }

  // Appends children (strings become text nodes, arrays are flattened, null is skipped).
  function append(node, children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) append(node, child);
      else if (typeof child === 'string' || typeof child === 'number') node.appendChild(document.createTextNode(String(child)));
      else node.appendChild(child);
    }
    return node;
  }

  // el('div', {class: 'x', 'aria-label': 'y'}, 'text', child, …): an HTML element.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      node.setAttribute(k, v === true ? '' : String(v));
    }
    return append(node, children);
  }

  // svg('rect', {x: 0, …}, …): an SVG element (attributes, never style strings from data).
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      node.setAttribute(k, String(v));
    }
    return append(node, children);
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function showMessage(text, kind, action) {
    const box = document.getElementById('message');
    if (!box) return;
    clear(box);
    if (!text) { box.hidden = true; return; }
    box.className = 'message' + (kind === 'error' ? ' error' : '');
    box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    box.appendChild(document.createTextNode(text));
    if (action) {
      const b = el('button', { type: 'button' }, action.label);
      b.addEventListener('click', action.run);
      box.appendChild(b);
    }
    box.hidden = false;
  }

  async function signOut() {
    try { await api('POST', '/logout', undefined, { noRedirect: true }); } catch (_) { /* signed out anyway */ }
    location.assign('/');
  }

  function wireHeader(status) {
    const who = document.getElementById('who');
    if (who && status && typeof status.annotator === 'string') who.textContent = status.annotator;
    const out = document.getElementById('signout');
    if (out && !out.dataset.wired) {
      out.dataset.wired = '1';
      out.addEventListener('click', signOut);
    }
  }

  // A number with at most `digits` decimals, without trailing zeros.
  function fmt(x, digits) {
    if (typeof x !== 'number' || !isFinite(x)) return String(x);
    return (+x.toFixed(digits)).toString();
  }

  return { api, ApiError, el, svg, clear, append, showMessage, signOut, wireHeader, fmt };
})();
