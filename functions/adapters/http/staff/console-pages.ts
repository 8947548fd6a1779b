/**
 * The staff console's pages, rendered on the server with the escaping `html` template: nothing a
 * request or an event carries can become markup. No script anywhere: the chart is inline SVG,
 * confirmations are required checkboxes, forms post with a CSRF token.
 *
 * Longer than 300 lines on purpose: every console page template, each short; one module keeps the escaping rules in one view.
 */
import { html, raw, type SafeHtml } from '../../../domain/html';
import { REQUEST_STATUSES, type AuditEvent, type RequestStatus } from '../../../domain/model';
import { describeVerification } from '../../../domain/verification';
import type { RequestView } from '../../../staff/audit-deps';
import type { AuditReport } from '../../../staff/build-report';
import type { RequestDetail } from '../../../staff/get-request-detail';
import type { StaffPrincipal } from './auth';
import { cspFor } from './http';

export const CONSOLE_STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#1d2b3a;color:#fff;padding:.6rem 1rem;display:flex;gap:1.2rem;align-items:center;flex-wrap:wrap}
header a{color:#fff}header .who{margin-left:auto;font-size:.9em}
main{max-width:72rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:1.6rem}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #d5d9de;padding:.3rem .5rem;text-align:left;vertical-align:top;font-size:.92em}
th{background:#eef1f4}
.cards{display:flex;gap:.6rem;flex-wrap:wrap}.card{background:#fff;border:1px solid #d5d9de;padding:.5rem .8rem;min-width:7rem}
.card b{display:block;font-size:1.3em}
.ok{color:#116329}.bad{color:#a40e26;font-weight:bold}.warn{color:#7d4e00;font-weight:bold}.flash{background:#dafbe1;border:1px solid #116329;padding:.5rem}
.error{background:#ffebe9;border:1px solid #a40e26;padding:.5rem}
form.inline{display:inline}fieldset{background:#fff;margin:.6rem 0;border:1px solid #d5d9de}
label{display:block;margin:.3rem 0}textarea{width:100%;max-width:40rem}
button{padding:.3rem .8rem}pre{white-space:pre-wrap;word-break:break-all;margin:0;font-size:.85em}
.filters label{display:inline-block;margin-right:.8rem}
`;

export const CONSOLE_CSP = cspFor(CONSOLE_STYLE);

export interface PageContext {
  basePath: string;
  principal?: StaffPrincipal;
  /** The CSRF token for this page's forms. */
  csrf: string;
}

function layout(ctx: PageContext, title: string, body: SafeHtml): SafeHtml {
  const b = ctx.basePath;
  return html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Erasure desk</title><link rel="icon" href="data:,"><style>${raw(CONSOLE_STYLE)}</style></head>
<body>
<header><strong>Erasure desk</strong>${
    ctx.principal
      ? html`<nav><a href="${b}">Dashboard</a> · <a href="${b}/requests">Requests</a> · <a href="${b}/export?format=csv">Export CSV</a> · <a href="${b}/export?format=json">Export JSON</a></nav>
<span class="who">${ctx.principal.subject} (${ctx.principal.roles.join(', ') || 'no role'})
<form class="inline" method="post" action="${b}/logout"><input type="hidden" name="csrf" value="${ctx.csrf}"><button type="submit">Sign out</button></form></span>`
      : ''
  }</header>
<main>
${body}
</main>
</body></html>`;
}

/** Asks for a bearer token (locally: `npm run token -- ops`). */
export function signInPage(ctx: PageContext, message?: string): SafeHtml {
  return layout(
    { ...ctx, principal: undefined },
    'Sign in',
    html`<h1>Sign in</h1>
${message ? html`<p class="error" role="alert">${message}</p>` : ''}
<form method="post" action="${ctx.basePath}/login">
<input type="hidden" name="csrf" value="${ctx.csrf}">
<label for="token">Access token (locally: <code>npm run token -- ops</code> or <code>auditor</code>)</label>
<textarea id="token" name="token" rows="6" required autocomplete="off" spellcheck="false"></textarea>
<p><button type="submit">Sign in</button></p>
</form>`,
  );
}

/** A plain error page (403, 404, …). */
export function errorPage(ctx: PageContext, title: string, detail?: string): SafeHtml {
  return layout(ctx, title, html`<h1>${title}</h1>${detail ? html`<p>${detail}</p>` : ''}<p><a href="${ctx.basePath}">Back to the dashboard</a></p>`);
}

const STATUS_COLOURS: Record<RequestStatus, string> = {
  RECEIVED: '#8c959f',
  AWAITING_VERIFICATION: '#bf8700',
  VERIFIED: '#0969da',
  REJECTED: '#8250df',
  QUEUED: '#54aeff',
  SUBMITTED: '#218bff',
  IN_PROGRESS: '#0550ae',
  COMPLETED: '#1a7f37',
  FAILED: '#cf222e',
  TIMED_OUT: '#fa4549',
  CANCELLED: '#57606a',
  EXPIRED: '#d0d7de',
};

export interface DaySeries {
  /** `YYYY-MM-DD`, oldest first. */
  day: string;
  counts: Partial<Record<RequestStatus, number>>;
}

/** Stacked bars of requests received per day by current status, drawn on the server. */
export function statusChart(days: readonly DaySeries[]): SafeHtml {
  const width = 640;
  const height = 220;
  const top = 10;
  const bottom = 30;
  const left = 30;
  const plot = height - top - bottom;
  const max = Math.max(1, ...days.map((d) => Object.values(d.counts).reduce((a, b) => a + (b ?? 0), 0)));
  const slot = (width - left) / Math.max(1, days.length);
  const bars = days.map((d, i) => {
    let y = top + plot;
    const x = left + i * slot + 1;
    const rects = REQUEST_STATUSES.filter((s) => (d.counts[s] ?? 0) > 0).map((s) => {
      const h = ((d.counts[s] ?? 0) / max) * plot;
      y -= h;
      return html`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(slot - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${STATUS_COLOURS[s]}"><title>${d.day} ${s}: ${d.counts[s] ?? 0}</title></rect>`;
    });
    const label = i % 5 === 0 ? html`<text x="${x.toFixed(1)}" y="${height - 12}" font-size="10">${d.day.slice(5)}</text>` : '';
    return html`${rects}${label}`;
  });
  const legend = REQUEST_STATUSES.map(
    (s, i) => html`<rect x="${(i % 4) * 160}" y="${Math.floor(i / 4) * 16}" width="10" height="10" fill="${STATUS_COLOURS[s]}"></rect><text x="${(i % 4) * 160 + 14}" y="${Math.floor(i / 4) * 16 + 9}" font-size="10">${s}</text>`,
  );
  return html`<svg role="img" aria-labelledby="chart-title" viewBox="0 0 ${width} ${height + 52}" width="100%" xmlns="http://www.w3.org/2000/svg">
<title id="chart-title">Requests received per day over the last ${days.length} days, by current status (max ${max} a day)</title>
<line x1="${left}" y1="${top + plot}" x2="${width}" y2="${top + plot}" stroke="#57606a"></line>
<text x="0" y="${top + 8}" font-size="10">${max}</text><text x="0" y="${top + plot}" font-size="10">0</text>
${bars}
<g transform="translate(0 ${height})">${legend}</g>
</svg>`;
}

function requestRows(ctx: PageContext, items: readonly RequestView[]): SafeHtml {
  if (items.length === 0) return html`<p>None.</p>`;
  return html`<table><thead><tr><th>Request</th><th>Status</th><th>Channel</th><th>Received</th><th>Due</th><th>Attempt</th><th>Note</th></tr></thead><tbody>
${items.map(
  (r) =>
    html`<tr><td><a href="${ctx.basePath}/requests/${encodeURIComponent(r.requestId)}">${r.requestId}</a></td><td>${r.status}</td><td>${r.channel}</td><td>${r.receivedAt}</td><td${r.overdue ? raw(' class="bad"') : ''}>${r.dueAt}${r.overdue ? ' (overdue)' : ''}${r.extended ? ' (extended)' : ''}</td><td>${r.attempt}</td><td>${r.rejection ? `${r.rejection.rule}` : (r.failureReason ?? (r.needsReview ? `needs review: ${r.needsReview}` : r.verification?.stage === 'data-found' ? describeVerification(r.verification) : ''))}</td></tr>`,
)}</tbody></table>`;
}

export interface DashboardModel {
  report: AuditReport;
  chart: DaySeries[];
  overdue: RequestView[];
  dueSoon: RequestView[];
  /** COMPLETED requests whose read-back found data (they need a retry). */
  dataFound: RequestView[];
  canAct: boolean;
  flash?: string;
}

export function dashboardPage(ctx: PageContext, m: DashboardModel): SafeHtml {
  const b = ctx.basePath;
  return layout(
    ctx,
    'Dashboard',
    html`<h1>Dashboard</h1>
${m.flash ? html`<p class="flash" role="status">${m.flash}</p>` : ''}
<h2>Requests by status</h2>
<div class="cards">${REQUEST_STATUSES.map((s) => html`<a class="card" href="${b}/requests?status=${s}"><b>${m.report.byStatus[s]}</b>${s}</a>`)}</div>
<h2>Received over the last 30 days</h2>
${statusChart(m.chart)}
<h2>Deadline risk</h2>
<div class="cards"><div class="card"><b class="${m.report.deadlines.openOverdue > 0 ? 'bad' : 'ok'}">${m.report.deadlines.openOverdue}</b>overdue</div>
<div class="card"><b>${m.report.deadlines.dueNext7Days}</b>due within 7 days</div>
<div class="card"><b>${m.report.deadlines.met}</b>completed in time</div>
<div class="card"><b>${m.report.deadlines.completedLate}</b>completed late</div>
<div class="card"><b>${m.report.timeToCompletion.medianSeconds === null ? '–' : formatDuration(m.report.timeToCompletion.medianSeconds)}</b>median to completion</div>
<div class="card"><b>${m.report.timeToCompletion.p95Seconds === null ? '–' : formatDuration(m.report.timeToCompletion.p95Seconds)}</b>p95 to completion</div></div>
<h2>Verification (read back after COMPLETED)</h2>
<div class="cards" id="verification-counts"><div class="card"><b class="ok">${m.report.verification.verified}</b>verified</div>
<div class="card"><b class="${m.report.verification.dataFound > 0 ? 'bad' : 'ok'}">${m.report.verification.dataFound}</b>data found</div>
<div class="card"><b>${m.report.verification.notVerified}</b>not verified</div>
<div class="card"><b>${m.report.verification.pending}</b>pending</div></div>
<h2>Overdue</h2>
${requestRows(ctx, m.overdue)}
<h2>Due within 7 days</h2>
${requestRows(ctx, m.dueSoon)}
<h2>Data found after completion</h2>
${requestRows(ctx, m.dataFound)}
${
  m.canAct
    ? html`<h2>Roles snapshot</h2>
<form method="post" action="${b}/roles/refresh"><input type="hidden" name="csrf" value="${ctx.csrf}">
<label><input type="checkbox" name="confirm" value="yes" required> I want to refresh the user-roles snapshot now</label>
<button type="submit">Refresh roles snapshot</button></form>`
    : ''
}`,
  );
}

export function formatDuration(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

export interface ListModel {
  items: RequestView[];
  /** The filters to show back in the form (never the subject). */
  filters: { status?: RequestStatus; from?: string; to?: string; overdue?: boolean };
  subjectSearch?: boolean;
  nextHref?: string;
  error?: string;
}

export function requestListPage(ctx: PageContext, m: ListModel): SafeHtml {
  const b = ctx.basePath;
  const f = m.filters;
  return layout(
    ctx,
    'Requests',
    html`<h1>Requests</h1>
${m.error ? html`<p class="error" role="alert">${m.error}</p>` : ''}
<form class="filters" method="get" action="${b}/requests">
<label>Status <select name="status"><option value="">any</option>${REQUEST_STATUSES.map((s) => html`<option value="${s}"${f.status === s ? raw(' selected') : ''}>${s}</option>`)}</select></label>
<label>Received from <input type="date" name="from" value="${f.from?.slice(0, 10) ?? ''}"></label>
<label>to <input type="date" name="to" value="${f.to?.slice(0, 10) ?? ''}"></label>
<label><input type="checkbox" name="overdue" value="true"${f.overdue ? raw(' checked') : ''}> overdue only</label>
<button type="submit">Filter</button>
</form>
<form class="filters" method="post" action="${b}/requests/search">
<input type="hidden" name="csrf" value="${ctx.csrf}">
<label>Subject (email or enterprise id) <input type="text" name="subject" autocomplete="off" required maxlength="320"></label>
<button type="submit">Find by subject</button>
</form>
${m.subjectSearch ? html`<p>Requests of the subject you searched for (the id is hashed before lookup and not kept).</p>` : ''}
${requestRows(ctx, m.items)}
${m.nextHref ? html`<p><a href="${m.nextHref}">Next page</a></p>` : ''}
<p>Export this period: <a href="${b}/export?format=csv${f.from ? `&from=${f.from.slice(0, 10)}` : ''}${f.to ? `&to=${f.to.slice(0, 10)}` : ''}">CSV</a> · <a href="${b}/export?format=json${f.from ? `&from=${f.from.slice(0, 10)}` : ''}${f.to ? `&to=${f.to.slice(0, 10)}` : ''}">JSON</a></p>`,
  );
}

export interface RequestPageModel {
  detail: RequestDetail;
  /** Action buttons to show (ops only; empty for auditors). */
  actions: ('retry' | 'cancel' | 'recheck' | 'extend' | 'revoke-links' | 'verify')[];
  flash?: string;
  error?: string;
}

const ACTION_LABELS = {
  retry: { button: 'Retry', confirm: 'I want to start a new attempt of this erasure' },
  cancel: { button: 'Cancel request', confirm: 'I want to cancel this request for good' },
  recheck: { button: 'Re-check eligibility', confirm: 'I want to re-run the eligibility check now' },
  extend: { button: 'Extend deadline', confirm: 'I want to extend the deadline by two months; the subject will be told the reason' },
  'revoke-links': { button: 'Revoke status links', confirm: 'I want every status link issued so far for this request to stop working' },
  verify: { button: 'Verify now', confirm: 'I want this erasure read back from Kore.ai now (it takes turns of the call budget)' },
} as const;

function timelineRows(events: readonly AuditEvent[], badSeq: number | undefined): SafeHtml {
  return html`<table><thead><tr><th>#</th><th>At</th><th>Event</th><th>Actor</th><th>Attempt</th><th>Status</th><th>Details</th></tr></thead><tbody>
${events.map(
  (e) =>
    html`<tr${e.seq === badSeq ? raw(' class="bad"') : ''}><td>${e.seq}</td><td>${e.at}</td><td>${e.type}</td><td>${e.actor}</td><td>${e.attempt}</td><td>${e.status}</td><td><pre>${JSON.stringify(e.details, null, 1)}</pre></td></tr>`,
)}</tbody></table>`;
}

/** The verdict's headline: only a chain compared with signed checkpoints is called verified. */
const CHAIN_VERDICT_LABELS: Record<RequestPageModel['detail']['chain']['verdict'], string> = {
  VERIFIED: 'Verified against checkpoints',
  PARTLY_VERIFIED: 'Partly verified against checkpoints',
  NOT_VERIFIED_AGAINST_CHECKPOINTS: 'Not verified against checkpoints',
  BROKEN: 'Chain broken',
};

export function requestPage(ctx: PageContext, m: RequestPageModel): SafeHtml {
  const r = m.detail.request;
  const c = m.detail.chain;
  const id = encodeURIComponent(r.requestId);
  return layout(
    ctx,
    `Request ${r.requestId}`,
    html`<h1>Request <code>${r.requestId}</code></h1>
${m.flash ? html`<p class="flash" role="status">${m.flash}</p>` : ''}
${m.error ? html`<p class="error" role="alert">${m.error}</p>` : ''}
<table><tbody>
<tr><th>Status</th><td id="status">${r.status}</td></tr>
<tr><th>Channel</th><td>${r.channel}</td></tr>
<tr><th>Subject kind</th><td>${r.subjectKind}</td></tr>
<tr><th>Scope</th><td>${r.scope.botIds.length === 0 ? 'all bots' : r.scope.botIds.join(', ')}</td></tr>
<tr><th>Received</th><td>${r.receivedAt}</td></tr>
<tr><th>Due</th><td${r.overdue ? raw(' class="bad"') : ''}>${r.dueAt}${r.overdue ? ' (overdue)' : ''}${r.extended ? html` (extended ${r.extended.at} by ${r.extended.by}: ${r.extended.reason})` : ''}</td></tr>
<tr><th>Attempt</th><td>${r.attempt}</td></tr>
${r.rejection ? html`<tr><th>Rejection</th><td>${r.rejection.rule} (${r.rejection.source}) ${r.rejection.botIds.join(', ')}</td></tr>` : ''}
${r.failureReason ? html`<tr><th>Failure</th><td>${r.failureReason}</td></tr>` : ''}
${r.needsReview ? html`<tr><th>Needs review</th><td>${r.needsReview}</td></tr>` : ''}
${r.completedAt ? html`<tr><th>Completed</th><td>${r.completedAt}</td></tr>` : ''}
${r.verification ? html`<tr><th>Verification</th><td id="verification" data-stage="${r.verification.stage}"${r.verification.stage === 'data-found' ? raw(' class="bad"') : ''}>${describeVerification(r.verification)}${r.verification.readBackSha256 ? html` · read-back sha256 <code>${r.verification.readBackSha256.slice(0, 16)}…</code>` : ''}${r.verification.window ? html` · ${r.verification.window.from} – ${r.verification.window.to}` : ''}</td></tr>` : ''}
</tbody></table>
<h2>Chain</h2>
<p id="chain" data-verdict="${c.verdict}"><span class="${c.verdict === 'VERIFIED' ? 'ok' : c.verdict === 'BROKEN' ? 'bad' : 'warn'}">${CHAIN_VERDICT_LABELS[c.verdict]}</span>: ${c.summary}${
      c.checkpoint.ignoredObjects > 0 ? html` <span class="warn">${c.checkpoint.ignoredObjects} object(s) in the checkpoint store were not trusted and were ignored (see the log).</span>` : ''
    }</p>
${
  m.actions.length > 0
    ? html`<h2>Actions</h2>${m.actions.map(
        (a) => html`<form method="post" action="${ctx.basePath}/requests/${id}/${a}"><fieldset><legend>${ACTION_LABELS[a].button}</legend>
<input type="hidden" name="csrf" value="${ctx.csrf}">
<label>Reason <textarea name="reason" rows="2" required maxlength="1000"></textarea></label>
<label><input type="checkbox" name="confirm" value="yes" required> ${ACTION_LABELS[a].confirm}</label>
<button type="submit" name="action" value="${a}">${ACTION_LABELS[a].button}</button></fieldset></form>`,
      )}`
    : ''
}
<h2>Timeline</h2>
${timelineRows(m.detail.timeline, c.ok ? undefined : c.firstBad?.seq)}`,
  );
}
