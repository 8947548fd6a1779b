/**
 * The public pages, rendered on the server with the escaping `html` template: the request form
 * (also re-shown with messages), the status page with its timeline and receipt, and the error
 * pages. No script anywhere: everything works with plain links and form posts.
 */
import { html, type SafeHtml } from '../../../domain/html';
import type { FieldError } from '../shared/problem';
import { art124Text, humanDate, type SiteInfo } from '../../../intake/notices';
import type { StatusView } from '../../../intake/get-status';

/** The skeleton of every page: language, viewport, our stylesheet, skip link, header and footer. */
export function layout(site: SiteInfo, title: string, body: SafeHtml): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} – ${site.organisation}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/site.css">
</head>
<body>
<a class="skip" href="#main">Skip to main content</a>
<header class="site"><p>${site.organisation} · Erase my data</p></header>
<main id="main" tabindex="-1">
${body}
</main>
<footer class="site"><p>Your right to erasure: Article 17 GDPR.${site.contact ? html` Questions: ${site.contact}.` : ''}</p></footer>
</body>
</html>`;
}

/** What the form shows again after a failed post (escaped on output like everything else). */
export interface FormValues {
  email?: string;
  botIds?: string;
}

/** The anchor a field error links to: the field's input. */
function anchorOf(field: string): string | undefined {
  const first = field.split('/')[0];
  return first === 'email' ? 'email' : first === 'botIds' ? 'botIds' : undefined;
}

function errorsFor(errors: readonly FieldError[], name: string): FieldError[] {
  return distinct(errors.filter((e) => anchorOf(e.field) === name));
}

/** One message per field and wording: three bad bot ids need one "a bot id looks like…". */
function distinct(errors: readonly FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${anchorOf(e.field) ?? e.field}|${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function errorSummary(errors: readonly FieldError[]): SafeHtml | '' {
  if (errors.length === 0) return '';
  return html`<div class="error-summary" role="alert" aria-labelledby="error-summary-title" tabindex="-1">
<h2 id="error-summary-title">There is a problem</h2>
<ul>${distinct(errors).map((e) => {
    const anchor = anchorOf(e.field);
    return anchor ? html`<li><a href="#${anchor}">${e.message}</a></li>` : html`<li>${e.field ? html`${e.field}: ` : ''}${e.message}</li>`;
  })}</ul>
</div>`;
}

function fieldErrors(errors: readonly FieldError[], id: string): SafeHtml | '' {
  if (errors.length === 0) return '';
  return html`${errors.map((e, i) => html`<p class="field-error" id="${id}-error-${i}"><span class="visually-hidden">Error: </span>${e.message}</p>`)}`;
}

/**
 * The request form at `GET /`, and again (422) with the messages and the input kept.
 * `csrfToken` goes in a hidden field; its twin is in the cookie set with the page.
 */
export function formPage(site: SiteInfo, options: { csrfToken: string; values?: FormValues; errors?: readonly FieldError[] }): SafeHtml {
  const errors = options.errors ?? [];
  const emailErrors = errorsFor(errors, 'email');
  const botErrors = errorsFor(errors, 'botIds');
  const describedBy = (id: string, errs: FieldError[]) => [`${id}-hint`, ...errs.map((_, i) => `${id}-error-${i}`)].join(' ');
  return layout(
    site,
    errors.length ? 'Error: Ask us to erase your data' : 'Ask us to erase your data',
    html`<h1>Ask us to erase your data</h1>
${errorSummary(errors)}
<p>You can ask ${site.organisation} to erase the conversations you had with its chatbots and the data kept about you in its bots on the Kore.ai XO Platform. This is your right under Article 17 of the GDPR.</p>

<form method="post" action="/requests" novalidate>
<input type="hidden" name="csrf" value="${options.csrfToken}">
<fieldset>
<legend>Who you are</legend>
<div class="field${emailErrors.length ? ' error' : ''}">
<label for="email">Email address</label>
<p class="hint" id="email-hint">The address you used with our chatbots. We will send a link to it to check that it is yours.</p>
${fieldErrors(emailErrors, 'email')}
<input type="email" id="email" name="email" autocomplete="email" spellcheck="false" inputmode="email" maxlength="254" required aria-describedby="${describedBy('email', emailErrors)}"${emailErrors.length ? html` aria-invalid="true"` : ''} value="${options.values?.email ?? ''}">
</div>
</fieldset>
<fieldset>
<legend>Which bots (optional)</legend>
<div class="field${botErrors.length ? ' error' : ''}">
<label for="botIds">Bot ids</label>
<p class="hint" id="botIds-hint">Leave this empty to erase your data from all our bots. To limit the request, enter up to 20 bot ids (they look like st-12345678-abcd-abcd-abcd-123456789abc), one per line or separated by commas.</p>
${fieldErrors(botErrors, 'botIds')}
<textarea id="botIds" name="botIds" rows="3" spellcheck="false" aria-describedby="${describedBy('botIds', botErrors)}"${botErrors.length ? html` aria-invalid="true"` : ''}>${options.values?.botIds ?? ''}</textarea>
</div>
</fieldset>
<button type="submit">Send my request</button>
</form>

<h2>What will be erased</h2>
<p>Your conversations with our chatbots and the data the bots keep about you (for example session history and what you told the bots), in all our bots or in the ones you name. The platform erases it for good; we cannot bring it back.</p>

<h2>What happens next</h2>
<ol>
<li>We email you a link. Open it within 30 minutes to confirm that the request is yours. Nothing is erased before you do.</li>
<li>We check that the platform can erase your data: it does not erase the data of people who own or work on the bots or belong to the account. If that applies to you, we tell you why and what to do.</li>
<li>We ask the platform to erase your data and follow it until it is done — within one month at the latest, as the law requires.</li>
<li>You get an email and, on the status page, a signed receipt that proves the erasure.</li>
</ol>

<h2>Privacy notice</h2>
<p>To handle your request we use your email address. We keep it, encrypted, only until the request ends; then we delete it. To recognise repeated requests and to prove later that we handled yours, we keep a keyed hash of the address (a code from which the address cannot be read back) and an audit trail of the steps we took, for ${site.auditRetention}. We do not use any of this for anything else. Legal basis: Article 6(1)(c) GDPR (our legal obligation to act on your request).</p>`,
  );
}

/** How the form's fields looked, from the decoded form (for re-showing after errors). */
export function formValuesFrom(fields: ReadonlyMap<string, readonly string[]>): FormValues {
  const first = (name: string) => fields.get(name)?.[0];
  const bots = [...(fields.get('botIds') ?? []), ...(fields.get('botIds[]') ?? [])];
  return { email: first('email')?.slice(0, 254), botIds: bots.join('\n').slice(0, 2000) };
}

function formatTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${humanDate(iso)}, ${d.toISOString().slice(11, 16)} UTC`;
}

function art124Block(site: SiteInfo): SafeHtml {
  return html`<p>${art124Text(site).replace(/ \(https?:[^)]*\)/, '')} <a href="${site.supervisoryAuthority.url}">Find your supervisory authority</a>.</p>`;
}

/** The status page of one request: summary, facts, rejection explanation, timeline, receipt. */
export function statusPage(site: SiteInfo, view: StatusView, options: { publicKeyUrl: string }): SafeHtml {
  const tone = view.status === 'COMPLETED' ? 'ok' : view.rejection || ['FAILED', 'TIMED_OUT', 'CANCELLED', 'EXPIRED'].includes(view.status) ? 'bad' : '';
  return layout(
    site,
    'Your erasure request',
    html`<h1>Your erasure request</h1>
<div class="panel ${tone}" role="status">
<p><span class="status-tag">${view.status.replace(/_/g, ' ').toLowerCase()}</span></p>
<p>${view.summary}</p>
${view.status === 'AWAITING_VERIFICATION' ? html`<p><strong>Check your email.</strong> We sent you a link; open it within 30 minutes. If nothing arrives, look in your spam folder, or submit the form again after 10 minutes and we will send a new link.</p>` : ''}
</div>
<dl class="facts">
<dt>Reference</dt><dd><code>${view.requestId}</code></dd>
<dt>Received</dt><dd>${formatTime(view.receivedAt)}</dd>
<dt>Due by</dt><dd>${humanDate(view.dueAt)}${view.extended ? html` (extended: ${view.extended.reason})` : ''}</dd>
<dt>Bots</dt><dd>${view.scope.allBots ? 'All our bots' : html`${view.scope.botIds.map((b, i) => html`${i ? ', ' : ''}<code>${b}</code>`)}`}</dd>
${view.verification ? html`<dt>Verification</dt><dd><span class="verification-${view.verification.outcome}">${view.verification.outcome.replace('-', ' ')}</span>: ${view.verification.summary}</dd>` : ''}
</dl>
${view.rejection
      ? html`<h2>Why we cannot erase your data yet</h2>
<div class="panel bad">
<p><strong>${view.rejection.title}.</strong></p>
<p>${view.rejection.whatToDo}</p>
${view.rejection.botIds.length ? html`<p>The bots involved:</p><ul>${view.rejection.botIds.map((b) => html`<li><code>${b}</code></li>`)}</ul>` : ''}
${art124Block(site)}
</div>`
      : ''}
<h2>Progress</h2>
<ol class="timeline">
${view.timeline.map((t) => html`<li class="${t.tone}"><time datetime="${t.at}">${formatTime(t.at)}</time><strong>${t.title}</strong>${t.text ? html`<br>${t.text}` : ''}</li>`)}
</ol>
${view.receipt
      ? html`<h2>Your erasure receipt</h2>
<p>This signed receipt proves that your data was erased. It holds no personal data: only the request reference, a code standing for you, the platform's job reference, a fingerprint of the platform's final answer, the dates and, once we have checked the platform again, what that check found (with a fingerprint of the platform's answer and the period checked). Keep it.</p>
<label for="receipt">Receipt (JSON Web Signature)</label>
<textarea id="receipt" class="receipt" readonly rows="6">${view.receipt}</textarea>
<p class="hint">To check it, verify the signature (ES256) with our public key at <a href="${options.publicKeyUrl}">${options.publicKeyUrl}</a>, for example with any JOSE library: <code>compactVerify(receipt, publicKey)</code>. A receipt that was changed in any way fails the check.</p>`
      : ''}
<p><a href="/">Make another request</a></p>`,
  );
}

/**
 * What the emailed confirmation link opens (`GET /verify`): nothing has happened yet. The erasure
 * is confirmed only by this page's button, so a mail scanner that fetches every link confirms
 * nothing. The token goes back in the form body (`POST /verify`).
 */
export function confirmPage(site: SiteInfo, options: { token: string; scope: { allBots: boolean; botIds: readonly string[] } }): SafeHtml {
  return layout(
    site,
    'Confirm your erasure request',
    html`<h1>Confirm your erasure request</h1>
<div class="panel" role="status">
<p>You are about to confirm that you want ${site.organisation} to erase the conversations and data held about your email address in ${options.scope.allBots ? 'all of its Kore.ai bots' : html`these Kore.ai bots: ${options.scope.botIds.map((b, i) => html`${i ? ', ' : ''}<code>${b}</code>`)}`}.</p>
<p>Erasure cannot be undone. If you did not ask for this, close this page: the request lapses on its own.</p>
</div>
<form method="post" action="/verify">
<input type="hidden" name="token" value="${options.token}">
<button type="submit">Confirm and erase my data</button>
</form>`,
  );
}

/**
 * Where the form lands after a submission (`GET /check-email`): the same page whatever the
 * address, so the browser of whoever typed it learns nothing about a request of that address.
 */
export function checkEmailPage(site: SiteInfo, options: { linkValidMinutes: number; resendAfterMinutes: number }): SafeHtml {
  return layout(
    site,
    'Check your email',
    html`<h1>Check your email</h1>
<div class="panel" role="status">
<p>If the address you gave can receive mail, a message is on its way to it:</p>
<ul>
<li>a link to <strong>confirm your request</strong> — open it within ${options.linkValidMinutes} minutes; nothing is erased until you do;</li>
<li>or, when a request for this address is already open, a link to <strong>its status page</strong>.</li>
</ul>
</div>
<p>Keep the email: its link is your only way to follow the request and to get your erasure receipt.</p>
<p class="hint">Nothing arrived? Look in your spam folder. You can send the form again after ${options.resendAfterMinutes} minutes and we will send a new link.</p>
<p><a href="/">Back to the request form</a></p>`,
  );
}

/** An error page (400/403/404/410/429/500) in plain words, with a way back. */
export function errorPage(site: SiteInfo, status: number, title: string, detail?: string): SafeHtml {
  return layout(
    site,
    title,
    html`<h1>${title}</h1>
<div class="panel bad"><p>${detail ?? ''}</p></div>
<p>${status === 404 ? 'Check that you copied the whole link from your email. ' : ''}<a href="/">Go to the request form</a></p>`,
  );
}
