// GET /intake: one small HTML page a relative can use on a phone, in eight
// languages. No framework, no external font, script or style: the one script
// and the one style are inline and allowed by their hashes in a strict CSP.
import { createHash } from 'node:crypto';
import { INTAKE_LANGUAGES, type IntakeLanguageCode } from './intake.schemas.ts';
import { FORM_EVENT_TYPES, LANGUAGE_NAMES, MESSAGES } from './intake-i18n.ts';
import { FORM_SCRIPT, FORM_STYLE } from './intake-form.script.ts';

/** Host countries of the first refuge (see the product's scope), offered in the form. */
export const FORM_COUNTRIES = ['KZ', 'KG', 'AM', 'GE', 'AZ', 'UZ', 'TJ', 'RS', 'ME', 'TR'] as const;
const CITIZENSHIPS = ['RU', 'BY'] as const;

const hash = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

export const FORM_CSP = [
  "default-src 'none'",
  `script-src ${hash(FORM_SCRIPT)}`,
  `style-src ${hash(FORM_STYLE)}`,
  "connect-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function renderIntakeForm(lang: IntakeLanguageCode): string {
  const m = MESSAGES[lang];
  const region = new Intl.DisplayNames([lang], { type: 'region' });
  const option = (value: string, label: string) => `<option value="${esc(value)}">${esc(label)}</option>`;
  const field = (name: string, label: string, input: string) =>
    `<label for="f-${name}">${esc(label)}</label>${input.replace('<INPUT', `id="f-${name}" name="${name}"`)}`;
  const data = (['working', 'sent', 'retry', 'throttled', 'invalid', 'failed'] as const)
    .map((k) => `data-${k}="${esc(m[k])}"`)
    .join(' ');
  const nav = INTAKE_LANGUAGES.map(
    (l) =>
      `<a href="/intake?lang=${l}" hreflang="${l}" lang="${l}"${l === lang ? ' aria-current="page"' : ''}>${esc(LANGUAGE_NAMES[l])}</a>`,
  ).join('');
  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${esc(m.title)}</title>
<style>${FORM_STYLE}</style>
</head>
<body>
<nav aria-label="Language">${nav}</nav>
<main>
<h1>${esc(m.title)}</h1>
<p>${esc(m.intro)}</p>
<form id="intake" data-lang="${lang}" ${data} novalidate>
<fieldset><legend>${esc(m.person)}</legend>
${field('name', m.name, '<input <INPUT required maxlength="300" autocomplete="off">')}
${field('dob', m.dob, '<input <INPUT type="date">')}
${field('citizenship', m.citizenship, `<select <INPUT><option value=""></option>${CITIZENSHIPS.map((c) => option(c, region.of(c) ?? c)).join('')}</select>`)}
</fieldset>
<fieldset><legend>${esc(m.event)}</legend>
${field('type', m.type, `<select <INPUT required>${FORM_EVENT_TYPES.map((t, i) => option(t, m.types[i])).join('')}</select>`)}
${field('country', m.country, `<select <INPUT required>${FORM_COUNTRIES.map((c) => option(c, region.of(c) ?? c)).join('')}</select>`)}
${field('city', m.city, '<input <INPUT maxlength="120">')}
${field('when', m.when, '<input <INPUT type="date">')}
${field('description', m.description, '<textarea <INPUT required maxlength="10000"></textarea>')}
</fieldset>
<fieldset><legend>${esc(m.reporter)}</legend>
${field('reporterName', m.reporterName, '<input <INPUT maxlength="200" autocomplete="off">')}
${field('contact', m.contact, '<input <INPUT required maxlength="300" autocomplete="off">')}
</fieldset>
<label><input type="checkbox" id="f-consent" name="consent" required>${esc(m.consent)}</label>
<button type="submit">${esc(m.send)}</button>
</form>
<p id="status" role="status" aria-live="polite"></p>
<p id="done" hidden><strong id="receipt"></strong></p>
</main>
<script>${FORM_SCRIPT}</script>
</body>
</html>
`;
}
