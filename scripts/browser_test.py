#!/usr/bin/env python3
"""End-to-end browser test of the labeling page against a real `rlhf serve`.

    python3 scripts/browser_test.py --binary .build/debug/rlhf --out /tmp/browser-test

Starts `rlhf serve` on a free port with a fresh SQLite database in OUT, creates an admin (CLI)
and an annotator (admin API), a GridWorld project (the classic map, three hand-made comparisons
with a slip, a wall bump, a trap and a goal) and a CartPole project (one comparison); then drives
headless Chromium (Debian's `chromium`) through the Chrome DevTools Protocol over
--remote-debugging-pipe: signs in with the annotator's token, waits for the rendered pair,
screenshots it, answers the first task by clicking "A is better" and the second by pressing →
(a real key event), screenshots the CartPole pair, and checks through the admin export route
(and the SQLite file) that exactly those two answers were stored, with the annotator's name.
It also checks the security headers, that the page never shows a reward or return, and that
the browser reported no error (a CSP violation included).

Python standard library only. Exits non-zero with a message on the first failure.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

# The directives the page relies on (the server may add more, e.g. frame-ancestors 'none').
CSP_REQUIRED = {"default-src": {"'self'"}, "img-src": {"'self'", "data:"}, "style-src": {"'self'"}, "script-src": {"'self'"}}


def csp_problem(value):
    """Why a Content-Security-Policy header value does not hold the contract's policy, or None."""
    if not value:
        return 'no Content-Security-Policy header'
    directives = {}
    for part in value.split(';'):
        words = part.split()
        if words:
            directives[words[0].lower()] = set(words[1:])
    for name, sources in CSP_REQUIRED.items():
        if directives.get(name) != sources:
            return '%s is %r, expected %r' % (name, ' '.join(sorted(directives.get(name, []))), ' '.join(sorted(sources)))
    if 'unsafe-inline' in value or 'unsafe-eval' in value:
        return 'it allows unsafe-inline or unsafe-eval'
    return None


class TestFailure(Exception):
    pass


def fail(message):
    raise TestFailure(message)


def log(message):
    print('[browser-test] ' + message, flush=True)


# ---------------------------------------------------------------- test data

CLASSIC_MAP = ["S....", ".#...", "...#.", ".T...", "....G"]
CLASSIC_POSITIONS = [[r, c] for r, line in enumerate(CLASSIC_MAP) for c, ch in enumerate(line) if ch != '#']
GRID_ENV = {"kind": "gridworld", "name": "classic", "map": CLASSIC_MAP, "positions": CLASSIC_POSITIONS,
            "actions": ["up", "down", "right", "left"], "horizon": 20}
UP, DOWN, RIGHT, LEFT = 0, 1, 2, 3
MOVES = {UP: (-1, 0), DOWN: (1, 0), RIGHT: (0, 1), LEFT: (0, -1)}
STATE_OF = {tuple(p): s for s, p in enumerate(CLASSIC_POSITIONS)}


def grid_next(s, a):
    r, c = CLASSIC_POSITIONS[s]
    dr, dc = MOVES[a]
    return STATE_OF.get((r + dr, c + dc), s)


def grid_trajectory(states, actions, final):
    """A trajectory in the toolkit's format (s₀…s_{T−1}, a₀…a_{T−1}, r₀…r_{T−1}), checked
    against the classic map: each next state is reachable from the previous one by some move,
    the rewards are the cell's (+1 goal, −1 trap, −0.02 otherwise)."""
    assert len(states) == len(actions)
    path = states + [final]
    for t in range(len(actions)):
        reachable = {grid_next(path[t], a) for a in MOVES}
        assert path[t + 1] in reachable, (t, path[t], path[t + 1])
    rewards = []
    for s in path[1:]:
        ch = CLASSIC_MAP[CLASSIC_POSITIONS[s][0]][CLASSIC_POSITIONS[s][1]]
        rewards.append(1.0 if ch == 'G' else -1.0 if ch == 'T' else -0.02)
    return {"states": states, "actions": actions, "rewards": rewards}, round(sum(rewards), 6)


def grid_comparisons():
    # c1: A goes right along the top row and down to the goal (8 steps, no slip);
    #     B chooses right at step 1 but slips down, and at step 4 slips down into the trap.
    a1, ra1 = grid_trajectory([0, 1, 2, 3, 4, 8, 12, 17], [RIGHT] * 4 + [DOWN] * 4, 22)
    b1, rb1 = grid_trajectory([0, 5, 9, 10], [RIGHT, DOWN, RIGHT, RIGHT], 14)
    # c2: A bumps into the wall under (1, 2) once (not a slip), then reaches the goal in 9;
    #     B slips up once on the bottom row and reaches the goal in 10.
    a2, ra2 = grid_trajectory([0, 1, 1, 2, 6, 11, 15, 16, 17], [RIGHT, DOWN, RIGHT, DOWN, DOWN, DOWN, RIGHT, RIGHT, DOWN], 22)
    b2, rb2 = grid_trajectory([0, 5, 9, 13, 18, 19, 20, 15, 20, 21], [DOWN] * 4 + [RIGHT] * 3 + [DOWN, RIGHT, RIGHT], 22)
    # c3: A walks into the trap directly; B dithers on the top row until the step limit.
    a3, ra3 = grid_trajectory([0, 5, 9, 13], [DOWN, DOWN, DOWN, RIGHT], 14)
    b3_states = [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]
    b3, rb3 = grid_trajectory(b3_states, [RIGHT if s == 0 else LEFT for s in b3_states], 0)
    out = []
    for key, (f, rf), (s, rs) in [("c1", (a1, ra1), (b1, rb1)), ("c2", (a2, ra2), (b2, rb2)), ("c3", (a3, ra3), (b3, rb3))]:
        out.append({"key": key, "first": f, "second": s, "first_return": rf, "second_return": rs,
                    "first_myopic_return": rf, "second_myopic_return": rs, "answer_stream": None})
    return out


CART_ENV = {"kind": "cartpole", "name": "cartpole", "actions": ["left", "right"], "horizon": 200,
            "x_threshold": 2.4, "theta_threshold": 0.2094395102393195}


def cart_advance(s, a):
    import math
    x, xd, th, thd = s
    force = 10.0 if a == 1 else -10.0
    cos, sin = math.cos(th), math.sin(th)
    temp = (force + 0.05 * thd * thd * sin) / 1.1
    tha = (9.8 * sin - cos * temp) / (0.5 * (4.0 / 3.0 - 0.1 * cos * cos / 1.1))
    xa = temp - 0.05 * tha * cos / 1.1
    return (x + 0.02 * xd, xd + 0.02 * xa, th + 0.02 * thd, thd + 0.02 * tha)


def cart_trajectory(policy, horizon):
    s = (0.012, -0.021, 0.031, 0.017)
    states, actions = [], []
    for t in range(horizon):
        a = policy(s)
        states.append(s)
        actions.append(a)
        s = cart_advance(s, a)
        if abs(s[0]) > 2.4 or abs(s[2]) > CART_ENV["theta_threshold"]:
            break
    traj = {"states": [{"x": v[0], "x_dot": v[1], "theta": v[2], "theta_dot": v[3]} for v in states],
            "actions": actions, "rewards": [1.0] * len(actions)}
    return traj, float(len(actions))


def cart_comparisons():
    good, rg = cart_trajectory(lambda s: 1 if s[2] + 0.5 * s[3] + 0.02 * s[0] + 0.05 * s[1] > 0 else 0, 200)
    bad, rb = cart_trajectory(lambda s: 1, 200)
    return [{"key": "p1", "first": good, "second": bad, "first_return": rg, "second_return": rb,
             "first_myopic_return": rg, "second_myopic_return": rb, "answer_stream": None}]


# ---------------------------------------------------------------- HTTP

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Http:
    """JSON over HTTP; redirects are returned, not followed."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(_NoRedirect)

    def request(self, method, path, body=None, token=None, headers=None):
        data = None
        hdrs = {'Accept': 'application/json'}
        if token:
            hdrs['Authorization'] = 'Bearer ' + token
        if body is not None:
            data = json.dumps(body).encode()
            hdrs['Content-Type'] = 'application/json'
        hdrs.update(headers or {})
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=hdrs)
        try:
            with self.opener.open(req, timeout=30) as r:
                return r.status, dict(r.headers.items()), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers.items()), e.read()

    def json(self, method, path, body=None, token=None, expect=(200, 201)):
        status, _, raw = self.request(method, path, body, token)
        if status not in expect:
            fail('%s %s → %d (expected %s): %s' % (method, path, status, expect, raw[:500].decode('utf-8', 'replace')))
        return json.loads(raw) if raw else None


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


TOKEN_RE = re.compile(r'[A-Za-z0-9_\-+/=.~]{20,}')


def find_token(text):
    """The token printed by `rlhf serve annotators add`: a long word on its own; prefer a line
    that says token."""
    lines = [l for l in text.splitlines() if l.strip()]
    for l in lines:
        if 'token' in l.lower():
            m = TOKEN_RE.findall(l)
            if m:
                return m[-1]
    for l in reversed(lines):
        m = TOKEN_RE.findall(l)
        if m:
            return m[-1]
    return None


# ---------------------------------------------------------------- Chrome DevTools Protocol

class CDP:
    """A minimal DevTools client over --remote-debugging-pipe (fd 3: commands to Chromium, fd 4:
    its answers and events, each message a JSON text ending in NUL)."""

    def __init__(self, chromium, user_data_dir, log_path):
        to_chrome_r, self._to_chrome_w = os.pipe()
        self._from_chrome_r, from_chrome_w = os.pipe()

        def child_fds():
            import fcntl
            # Chromium reads fd 3 and writes fd 4; move both ends out of the way first.
            a = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.close(a)
            os.close(b)

        args = [chromium, '--headless=new', '--no-sandbox', '--disable-gpu', '--remote-debugging-pipe',
                '--user-data-dir=' + user_data_dir, '--no-first-run', '--no-default-browser-check',
                '--disable-extensions', '--disable-background-networking', '--disable-sync',
                '--disable-dev-shm-usage', '--mute-audio', '--hide-scrollbars', 'about:blank']
        self._log = open(log_path, 'wb')
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                     preexec_fn=child_fds, close_fds=False, start_new_session=True)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next_id = 0
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._results = {}
        self.events = []
        self._closed = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        buf = b''
        while True:
            try:
                chunk = os.read(self._from_chrome_r, 1 << 16)
            except OSError:
                chunk = b''
            if not chunk:
                with self._cond:
                    self._closed = True
                    self._cond.notify_all()
                return
            buf += chunk
            while b'\0' in buf:
                raw, buf = buf.split(b'\0', 1)
                msg = json.loads(raw)
                with self._cond:
                    if 'id' in msg:
                        self._results[msg['id']] = msg
                    else:
                        self.events.append(msg)
                    self._cond.notify_all()

    def send(self, method, params=None, session=None, timeout=30):
        with self._lock:
            self._next_id += 1
            mid = self._next_id
        msg = {'id': mid, 'method': method, 'params': params or {}}
        if session:
            msg['sessionId'] = session
        os.write(self._to_chrome_w, json.dumps(msg).encode() + b'\0')
        deadline = time.time() + timeout
        with self._cond:
            while mid not in self._results:
                if self._closed:
                    fail('Chromium closed the DevTools pipe (see its log)')
                left = deadline - time.time()
                if left <= 0:
                    fail('DevTools command %s timed out' % method)
                self._cond.wait(left)
            res = self._results.pop(mid)
        if 'error' in res:
            fail('DevTools %s failed: %s' % (method, res['error']))
        return res.get('result', {})

    def close(self):
        try:
            self.send('Browser.close', timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self._log.close()


class Page:
    """One tab, attached with a flat session."""

    def __init__(self, cdp, width, height):
        self.cdp = cdp
        target = cdp.send('Target.createTarget', {'url': 'about:blank'})['targetId']
        self.session = cdp.send('Target.attachToTarget', {'targetId': target, 'flatten': True})['sessionId']
        for domain in ('Page', 'Runtime', 'Log'):
            self.send(domain + '.enable')
        self.resize(width, height)

    def send(self, method, params=None, timeout=30):
        return self.cdp.send(method, params, session=self.session, timeout=timeout)

    def resize(self, width, height):
        self.send('Emulation.setDeviceMetricsOverride', {'width': width, 'height': height, 'deviceScaleFactor': 1, 'mobile': False})

    def navigate(self, url):
        res = self.send('Page.navigate', {'url': url})
        if res.get('errorText'):
            fail('navigation to %s failed: %s' % (url, res['errorText']))

    def eval(self, expression):
        res = self.send('Runtime.evaluate', {'expression': expression, 'returnByValue': True, 'awaitPromise': True})
        if 'exceptionDetails' in res:
            fail('page script failed: %s → %s' % (expression[:80], res['exceptionDetails'].get('text')))
        return res['result'].get('value')

    def wait_for(self, expression, what, timeout=20):
        deadline = time.time() + timeout
        guarded = '(() => { try { return (%s); } catch (e) { return false; } })()' % expression
        while time.time() < deadline:
            value = self.eval(guarded)
            if value:
                return value
            time.sleep(0.1)
        state = self.eval("JSON.stringify({url: location.href, state: document.body && document.body.dataset.state, "
                          "message: (document.getElementById('message') || {}).textContent})")
        fail('timed out waiting for %s (page: %s)' % (what, state))

    def center_of(self, selector):
        box = self.eval("(() => { const e = document.querySelector(%s); if (!e) return null; e.scrollIntoView({block: 'center'});"
                        " const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2, r.width, r.height]; })()"
                        % json.dumps(selector))
        if not box or box[2] == 0 or box[3] == 0:
            fail('element %s is not visible' % selector)
        return box[0], box[1]

    def click(self, selector):
        x, y = self.center_of(selector)
        self.send('Input.dispatchMouseEvent', {'type': 'mouseMoved', 'x': x, 'y': y})
        self.send('Input.dispatchMouseEvent', {'type': 'mousePressed', 'x': x, 'y': y, 'button': 'left', 'clickCount': 1})
        self.send('Input.dispatchMouseEvent', {'type': 'mouseReleased', 'x': x, 'y': y, 'button': 'left', 'clickCount': 1})

    def key(self, key, code, keycode, text=None):
        down = {'type': 'keyDown' if text else 'rawKeyDown', 'key': key, 'code': code,
                'windowsVirtualKeyCode': keycode, 'nativeVirtualKeyCode': keycode}
        if text:
            down['text'] = text
            down['unmodifiedText'] = text
        self.send('Input.dispatchKeyEvent', down)
        self.send('Input.dispatchKeyEvent', {'type': 'keyUp', 'key': key, 'code': code,
                                             'windowsVirtualKeyCode': keycode, 'nativeVirtualKeyCode': keycode})

    def type_text(self, text):
        for ch in text:
            code = ('Key' + ch.upper()) if ch.isalpha() else ('Digit' + ch) if ch.isdigit() else ''
            self.key(ch, code, ord(ch.upper()) if ch.isalnum() else 0, text=ch)

    def screenshot(self, path):
        import base64
        data = self.send('Page.captureScreenshot', {'format': 'png'})['data']
        with open(path, 'wb') as f:
            f.write(base64.b64decode(data))

    def problems(self):
        """Console errors, uncaught exceptions and CSP reports seen so far in this tab."""
        out = []
        for e in self.cdp.events:
            if e.get('sessionId') != self.session:
                continue
            m, p = e.get('method'), e.get('params', {})
            if m == 'Runtime.exceptionThrown':
                out.append('exception: ' + json.dumps(p.get('exceptionDetails', {}))[:300])
            elif m == 'Log.entryAdded' and p.get('entry', {}).get('level') == 'error':
                text = p['entry'].get('text', '')
                url = p['entry'].get('url', '')
                if 'favicon.ico' in url:
                    continue
                # Expected 4xx of the API (a 204 is not an error; 401 before sign-in is).
                if p['entry'].get('source') == 'network' and '/api/status' in url:
                    continue
                out.append('console: ' + text + (' (' + url + ')' if url else ''))
            elif m == 'Runtime.consoleAPICalled' and p.get('type') == 'error':
                out.append('console.error: ' + json.dumps(p.get('args', []))[:300])
        return out


def find_chromium(explicit):
    if explicit:
        return explicit
    for name in ('chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'):
        path = shutil.which(name)
        if path:
            return path
    if shutil.which('apt-get') and os.geteuid() == 0:
        log('Chromium not found: apt-get install -y chromium')
        subprocess.run(['apt-get', 'install', '-y', 'chromium'], check=False, stdout=subprocess.DEVNULL)
        for name in ('chromium', 'chromium-browser'):
            path = shutil.which(name)
            if path:
                return path
    fail('Chromium not found: install it (Debian: apt-get install -y chromium) or pass --chromium PATH')


# ---------------------------------------------------------------- the test

FORBIDDEN_WORDS = re.compile(r'\b(rewards?|returns?)\b', re.I)


def check_no_returns(page, numbers, what):
    html = page.eval('document.documentElement.outerHTML')
    m = FORBIDDEN_WORDS.search(html)
    if m:
        i = m.start()
        fail('%s: the page mentions "%s": …%s…' % (what, m.group(0), html[max(0, i - 80):i + 80]))
    text = page.eval('document.body.innerText + "\\n" + document.body.textContent')
    found = set(re.findall(r'(?<![\d.])-?\d+\.\d+(?![\d.])', text))
    shown = sorted(found & numbers)
    if shown:
        fail('%s: the page shows return/reward values %s' % (what, shown))


def run(args):
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        fail('not an executable: ' + binary)
    db = os.path.join(out, 'labels.db')
    for suffix in ('', '-wal', '-shm'):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    cleanup = []
    try:
        # The admin, from the command line (prints its token once).
        add = subprocess.run([binary, 'serve', 'annotators', 'add', 'admin', '--admin', '--db', db],
                             capture_output=True, text=True, timeout=60)
        if add.returncode != 0:
            fail('`rlhf serve annotators add admin --admin` failed (%d): %s %s' % (add.returncode, add.stdout, add.stderr))
        admin = find_token(add.stdout) or find_token(add.stderr)
        if not admin:
            fail('no token in the output of `rlhf serve annotators add`: %r' % add.stdout)

        port = free_port()
        server_log = open(os.path.join(out, 'server.log'), 'wb')
        server = subprocess.Popen([binary, 'serve', '--db', db, '--port', str(port)],
                                  stdout=server_log, stderr=subprocess.STDOUT, start_new_session=True)
        cleanup.append(lambda: (_stop(server), server_log.close()))
        base = 'http://127.0.0.1:%d' % port
        http = Http(base)
        deadline = time.time() + 60
        while True:
            if server.poll() is not None:
                fail('rlhf serve exited with %d; see %s' % (server.returncode, os.path.join(out, 'server.log')))
            try:
                status, _, _ = http.request('GET', '/api/status', token=admin)
                if status == 200:
                    break
                fail('GET /api/status with the admin token → %d' % status)
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.time() > deadline:
                    fail('rlhf serve did not answer on port %d within 60 s' % port)
                time.sleep(0.2)
        log('server up on %s' % base)

        # Security headers on the pages and the assets.
        assets = ['app.css', 'app.js', 'index.js', 'label.js', 'status.js', 'gridworld.js', 'cartpole.js', 'generic.js',
                  'index.html', 'label.html', 'status.html']
        for path, expected in [('/', 200), ('/label', 303), ('/status', 303)] + [('/assets/' + a, 200) for a in assets]:
            status, headers, _ = http.request('GET', path)
            if status != expected:
                fail('GET %s → %d, expected %d%s' % (path, status, expected,
                     ' (is the file listed in BuiltInAssets.embedded?)' if path.startswith('/assets/') else ''))
            h = {k.lower(): v for k, v in headers.items()}
            problem = csp_problem(h.get('content-security-policy'))
            if problem:
                fail('GET %s: Content-Security-Policy %r: %s' % (path, h.get('content-security-policy'), problem))
            if h.get('x-content-type-options', '').lower() != 'nosniff':
                fail('GET %s: no X-Content-Type-Options: nosniff' % path)

        # The annotator and the projects, through the admin API.
        made = http.json('POST', '/api/annotators', {'name': 'alice', 'admin': False}, token=admin, expect=(201,))
        alice = made.get('token') if isinstance(made, dict) else None
        if not alice or made.get('name') != 'alice':
            fail('POST /api/annotators gave %r' % made)
        http.json('POST', '/api/projects', {'name': 'grid', 'environment': GRID_ENV, 'answers_per_pair': 1, 'simulated': False},
                  token=admin, expect=(201,))
        grid = grid_comparisons()
        ids = http.json('POST', '/api/projects/grid/comparisons', {'comparisons': grid}, token=admin, expect=(200,))['ids']
        if len(ids) != len(grid):
            fail('POST comparisons returned %r' % ids)
        http.json('POST', '/api/projects', {'name': 'cart', 'environment': CART_ENV, 'answers_per_pair': 1, 'simulated': False},
                  token=admin, expect=(201,))
        cart = cart_comparisons()
        http.json('POST', '/api/projects/cart/comparisons', {'comparisons': cart}, token=admin, expect=(200,))
        forbidden_numbers = set()
        for c in grid:
            for k in ('first_return', 'second_return'):
                forbidden_numbers.add(('%.6f' % c[k]).rstrip('0').rstrip('.'))
            for side in ('first', 'second'):
                for r in c[side]['rewards']:
                    forbidden_numbers.add(('%.6f' % r).rstrip('0').rstrip('.'))
        forbidden_numbers = {n for n in forbidden_numbers if '.' in n}  # integers (1, −1) are step counts too
        log('made annotator alice, project grid (%d comparisons), project cart (1)' % len(grid))

        # The browser.
        chromium = find_chromium(args.chromium)
        profile = tempfile.mkdtemp(prefix='rlhf-browser-test-')
        cleanup.append(lambda: shutil.rmtree(profile, ignore_errors=True))
        cdp = CDP(chromium, profile, os.path.join(out, 'chromium.log'))
        cleanup.append(cdp.close)
        version = cdp.send('Browser.getVersion')
        log('browser: %s' % version.get('product'))
        page = Page(cdp, 1280, 800)

        page.navigate(base + '/')
        page.wait_for("document.readyState === 'complete' && !!document.getElementById('token')", 'the sign-in form')
        page.click('#token')
        page.type_text(alice)
        typed = page.eval("document.getElementById('token').value")
        if typed != alice:
            fail('typing the token gave %r' % typed)
        page.click('#signin-button')
        page.wait_for("location.pathname === '/label'", 'the labeling page after signing in')
        page.wait_for("document.body.dataset.state === 'task' && document.getElementById('project').value === 'grid'"
                      " && document.querySelectorAll('#view-a svg.scene, #view-b svg.scene').length === 2", 'the rendered GridWorld pair')
        first_id = page.eval("document.getElementById('task').dataset.taskId")
        time.sleep(0.3)
        shot_grid = os.path.join(out, 'label-gridworld.png')
        page.screenshot(shot_grid)
        check_no_returns(page, forbidden_numbers, 'GridWorld task ' + first_id)
        facts = page.eval("document.getElementById('pair').innerText")
        for needle in ('Steps', '8', 'goal', 'trap', 'Slips'):
            if needle not in facts:
                fail('GridWorld pair does not show %r: %r' % (needle, facts[:400]))
        slips = page.eval("document.querySelectorAll('#view-b .steps .step.slip').length")
        if slips != 2:
            fail('B of the first pair has 2 slips; the page marks %r' % slips)
        slips_a = page.eval("document.querySelectorAll('#view-a .steps .step.slip').length")
        if slips_a != 0:
            fail('A of the first pair has no slip; the page marks %r' % slips_a)

        # One slider moves both sides.
        page.eval("(() => { const s = document.getElementById('slider'); s.value = '2';"
                  " s.dispatchEvent(new Event('input', {bubbles: true})); return true; })()")
        nows = page.eval("[...document.querySelectorAll('#pair .facts .now')].map((e) => e.textContent)")
        if len(nows) != 2 or not all(n.startswith('Step 2:') for n in nows):
            fail('the slider at 2 should show step 2 on both sides: %r' % nows)

        # Task 1: click "A is better".
        page.click('#answer-left')
        page.wait_for("document.body.dataset.state === 'task' && document.getElementById('task').dataset.taskId !== %s"
                      % json.dumps(first_id), 'the second task after clicking A')
        second_id = page.eval("document.getElementById('task').dataset.taskId")
        check_no_returns(page, forbidden_numbers, 'GridWorld task ' + second_id)
        bumps = page.eval("document.querySelectorAll('#view-a .steps .step.bump').length")
        slips_a2 = page.eval("document.querySelectorAll('#view-a .steps .step.slip').length")
        if bumps != 1 or slips_a2 != 0:
            fail('A of the second pair has one wall bump and no slip; the page shows %r bumps, %r slips' % (bumps, slips_a2))
        progress = page.eval("document.getElementById('progress').textContent")
        if 'Answered today: 1' not in progress:
            fail('progress line after one answer: %r' % progress)

        # Task 2: the → key (a real key event) for "B is better".
        page.key('ArrowRight', 'ArrowRight', 39)
        page.wait_for("document.body.dataset.state === 'task' && document.getElementById('task').dataset.taskId !== %s"
                      % json.dumps(second_id), 'the third task after pressing →')
        third_id = page.eval("document.getElementById('task').dataset.taskId")
        check_no_returns(page, forbidden_numbers, 'GridWorld task ' + third_id)
        page.screenshot(os.path.join(out, 'label-gridworld-3.png'))

        # The CartPole project, through the picker.
        page.eval("(() => { const s = document.getElementById('project'); s.value = 'cart';"
                  " s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()")
        page.wait_for("document.body.dataset.state === 'task' && document.getElementById('task').dataset.kind === 'cartpole'",
                      'the rendered CartPole pair')
        page.click('#play')
        time.sleep(0.6)
        page.click('#play')
        shot_cart = os.path.join(out, 'label-cartpole.png')
        page.screenshot(shot_cart)
        check_no_returns(page, set(), 'CartPole task')
        cart_text = page.eval("document.getElementById('pair').innerText")
        n_good, n_bad = len(cart[0]['first']['actions']), len(cart[0]['second']['actions'])
        for n in (n_good, n_bad):
            if '%d steps' % n not in cart_text:
                fail('CartPole pair does not show the episode length %d: %r' % (n, cart_text[:300]))

        # A narrow screen: the pair stacks, the buttons stay usable.
        page.resize(390, 844)
        time.sleep(0.3)
        shot_narrow = os.path.join(out, 'label-narrow.png')
        page.screenshot(shot_narrow)
        width = page.eval("document.documentElement.scrollWidth")
        if width > 400:
            fail('on a 390 px screen the page is %d px wide' % width)
        page.resize(1280, 800)

        # The status page.
        page.navigate(base + '/status')
        page.wait_for("document.getElementById('answered-today').textContent === '2'", 'the status page with 2 answers today')
        page.screenshot(os.path.join(out, 'status.png'))

        problems = page.problems()
        if problems:
            fail('the browser reported problems:\n  ' + '\n  '.join(problems))

        # What the server stored.
        status, _, raw = http.request('GET', '/api/projects/grid/export', token=admin)
        if status != 200:
            fail('GET /api/projects/grid/export → %d' % status)
        rows = [json.loads(l) for l in raw.decode().splitlines() if l.strip()]
        got = sorted((r.get('key'), r.get('annotator'), r.get('choice')) for r in rows)
        want = [('c1', 'alice', 'left'), ('c2', 'alice', 'right')]
        if got != want:
            fail('export of grid: %r, expected %r' % (got, want))
        status, _, raw = http.request('GET', '/api/projects/cart/export', token=admin)
        if status != 200 or raw.strip():
            fail('export of cart should be empty: %d %r' % (status, raw[:200]))
        db_rows = None
        try:
            con = sqlite3.connect('file:%s?mode=ro' % db, uri=True, timeout=10)
            db_rows = sorted(con.execute(
                'SELECT c.key, n.name, a.choice FROM answers a JOIN comparisons c ON c.id = a.comparison_id '
                'JOIN annotators n ON n.id = a.annotator_id').fetchall())
            con.close()
        except sqlite3.Error as e:
            log('note: could not read %s directly (%s); the export route was checked' % (db, e))
        if db_rows is not None and db_rows != want:
            fail('answers in %s: %r, expected %r' % (db, db_rows, want))

        print('PASS browser test: signed in as alice, rendered GridWorld and CartPole pairs, answered '
              'c1 = left (click on "A is better") and c2 = right (key →), stored as such%s; CSP present, no '
              'reward or return shown, no browser errors. Screenshots: %s, %s, %s'
              % (' (export route and SQLite)' if db_rows is not None else ' (export route)', shot_grid, shot_cart, shot_narrow))
    finally:
        for f in reversed(cleanup):
            try:
                f()
            except Exception as e:  # keep cleaning up
                log('cleanup: %s' % e)


def _stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--binary', required=True, help='path to the rlhf executable')
    ap.add_argument('--out', required=True, help='directory for the database, logs and screenshots')
    ap.add_argument('--chromium', help='path to Chromium (default: chromium or chromium-browser on PATH)')
    args = ap.parse_args()
    try:
        run(args)
    except TestFailure as e:
        print('FAIL browser test: %s' % e, file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
