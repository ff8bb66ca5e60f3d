// The sign-in page: POST /login with the token (form field `token`), then go to /label.
// Without JavaScript the form still posts normally; with it, errors are shown in place.
'use strict';

(() => {
  const form = document.getElementById('signin');
  const input = document.getElementById('token');
  const button = document.getElementById('signin-button');
  const params = new URLSearchParams(location.search);

  if (params.has('expired')) RLHF.showMessage('Your session has ended. Please sign in again.', 'error');
  else if (params.has('error')) RLHF.showMessage('That token was not accepted.', 'error');

  // Already signed in? Offer the way on instead of a second sign-in.
  RLHF.api('GET', '/api/status', undefined, { noRedirect: true }).then(({ data }) => {
    if (data && typeof data.annotator === 'string') {
      document.getElementById('already-name').textContent = data.annotator;
      document.getElementById('already').hidden = false;
    }
  }).catch(() => {});

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (!token) { RLHF.showMessage('Enter your token.', 'error'); input.focus(); return; }
    button.disabled = true;
    RLHF.showMessage('Signing in…');
    try {
      let failure = null;
      try {
        const response = await fetch('/login', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-RLHF-Request': '1' },
          body: new URLSearchParams({ token }).toString(),
        });
        if (!response.ok) {
          failure = 'That token was not accepted.';
          try {
            const data = await response.json();
            if (data && typeof data.error === 'string') failure = data.error;
          } catch (_) { /* not JSON */ }
        }
      } catch (e) {
        failure = 'The server cannot be reached.';
      }
      if (!failure) {
        // The cookie is set if the session works.
        try {
          await RLHF.api('GET', '/api/status', undefined, { noRedirect: true });
        } catch (e) {
          failure = e.status === 401 ? 'That token was not accepted.' : e.message;
        }
      }
      if (failure) {
        RLHF.showMessage(failure, 'error');
        input.focus();
        input.select();
        return;
      }
      location.assign('/label');
    } finally {
      button.disabled = false;
    }
  });

  input.focus();
})();
