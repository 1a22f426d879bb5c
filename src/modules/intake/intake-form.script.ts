// The intake form's only script, served inline under a CSP hash: it solves the
// proof of work (Web Crypto SHA-256), posts the report as JSON, and never
// clears what was typed unless the report was received. A failed challenge is
// retried once with a new one; after that the person is told to press Send
// again, with everything still in place. Plain ES2017, no dependencies.
export const FORM_SCRIPT = `(function () {
  'use strict';
  var form = document.getElementById('intake');
  var status = document.getElementById('status');
  var d = form.dataset;
  var FIELDS = {
    'body.subject.name': 'name', 'body.subject.dateOfBirth': 'dob', 'body.subject.citizenship': 'citizenship',
    'body.event.type': 'type', 'body.event.country': 'country', 'body.event.city': 'city',
    'body.event.occurredOn': 'when', 'body.event.description': 'description',
    'body.reporter.name': 'reporterName', 'body.reporter.contact': 'contact', 'body.consent': 'consent'
  };
  function hex(buf) {
    return Array.prototype.map.call(new Uint8Array(buf), function (b) { return (b < 16 ? '0' : '') + b.toString(16); }).join('');
  }
  async function solve(c) {
    var enc = new TextEncoder();
    for (var n = 0; n <= c.maxnumber; n++) {
      if (hex(await crypto.subtle.digest('SHA-256', enc.encode(c.salt + n))) === c.challenge) return n;
    }
    return -1;
  }
  function val(name) {
    var v = String(form.elements[name].value || '').trim();
    return v === '' ? undefined : v;
  }
  function report(altcha) {
    return {
      altcha: altcha, language: d.lang,
      subject: { name: val('name'), dateOfBirth: val('dob'), citizenship: val('citizenship') },
      event: { type: val('type'), country: val('country'), city: val('city'), occurredOn: val('when'), description: val('description') },
      reporter: { name: val('reporterName'), contact: val('contact') },
      consent: form.elements.consent.checked
    };
  }
  function say(text) { status.textContent = text; }
  function mark(e) {
    var name = FIELDS[e.path];
    if (name) form.elements[name].setAttribute('aria-invalid', 'true');
  }
  async function attempt() {
    var c = await (await fetch('/v1/intake/challenge', { cache: 'no-store' })).json();
    var number = await solve(c);
    var altcha = btoa(JSON.stringify({ algorithm: c.algorithm, challenge: c.challenge, number: number, salt: c.salt, signature: c.signature }));
    return fetch('/v1/intake', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(report(altcha)) });
  }
  form.addEventListener('submit', async function (ev) {
    ev.preventDefault();
    Array.prototype.forEach.call(form.querySelectorAll('[aria-invalid]'), function (el) { el.removeAttribute('aria-invalid'); });
    var button = form.querySelector('button');
    button.disabled = true;
    say(d.working);
    try {
      for (var i = 0; i < 2; i++) {
        var res = await attempt();
        if (res.status === 202) {
          var r = await res.json();
          document.getElementById('receipt').textContent = r.receipt;
          document.getElementById('done').hidden = false;
          form.hidden = true;
          say(d.sent);
          return;
        }
        if (res.status === 429) { say(d.throttled); return; }
        var p = {};
        try { p = await res.json(); } catch (e) { p = {}; }
        var errors = p.errors || [];
        var challengeFailed = errors.some(function (e) { return e.path === 'body.altcha'; });
        if (challengeFailed && i === 0) continue;
        if (challengeFailed) { say(d.retry); return; }
        if (res.status === 400) { errors.forEach(mark); say(d.invalid); return; }
        say(d.failed);
        return;
      }
    } catch (e) {
      say(d.failed);
    } finally {
      button.disabled = false;
    }
  });
})();
`;

export const FORM_STYLE = `body{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:40rem;padding:1rem;color:#111;background:#fff}
fieldset{border:1px solid #999;margin:0 0 1rem;padding:.75rem}legend{font-weight:600}
label{display:block;margin:.5rem 0 .2rem}input,select,textarea{width:100%;box-sizing:border-box;font:inherit;padding:.5rem}
input[type=checkbox]{width:auto;margin-right:.5rem}textarea{min-height:8rem}
[aria-invalid=true]{outline:3px solid #b00020}button{font:inherit;padding:.75rem 1.5rem;margin-top:.5rem}
nav{display:flex;flex-wrap:wrap;gap:.25rem .75rem}#status{min-height:1.5rem;font-weight:600}#receipt{font-size:1.5rem;letter-spacing:.1em}`;
