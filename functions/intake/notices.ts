/**
 * Every email the subject receives, in one place, so the wording stays consistent and reviewable:
 * the verification link, the confirmation that we are erasing, completion, a failure that needs
 * staff, a rejection (with what Art. 12(4) GDPR requires of a refusal) and a deadline extension
 * (with the reason Art. 12(3) requires).
 *
 * Messages hold links and plain words only: never the subject's address or another person's data.
 */
import { html, type SafeHtml } from '../domain/html';
import { explainRejection } from '../domain/eligibility';
import type { EligibilityRule } from '../domain/model';
import { VERIFY_LINK_TTL_SECONDS } from '../domain/timings';

/** Who runs the desk, and where a subject can complain: shown in pages and emails. */
export interface SiteInfo {
  /** The controller's name as the subject knows it. */
  organisation: string;
  /** Where to write with questions (e.g. the DPO's address); optional. */
  contact?: string;
  /** The supervisory authority a subject may complain to (Art. 77 GDPR). */
  supervisoryAuthority: { name: string; url: string };
  /** How long the audit trail is kept, in plain words, for the privacy notice. */
  auditRetention: string;
}

export const DEFAULT_SITE: SiteInfo = {
  organisation: 'Erasure desk',
  supervisoryAuthority: {
    name: 'the data protection authority of your country (the list of EU and EEA authorities is published by the European Data Protection Board)',
    url: 'https://www.edpb.europa.eu/about-edpb/about-edpb/members_en',
  },
  auditRetention: 'six years after your request ends, to prove that we handled it lawfully',
};

export type NoticeKind = 'verify' | 'received' | 'already-open' | 'completed' | 'failed-needs-staff' | 'rejected' | 'extended';

export interface NoticeContext {
  requestId: string;
  /** Link to the status page (with its token). */
  statusUrl: string;
  /** `verify`: the verification link and how long it works. */
  verifyUrl?: string;
  linkValidMinutes?: number;
  /** ISO due date (Art. 12(3)). */
  dueAt?: string;
  /** `rejected`: the rule and the bots involved. */
  rejection?: { rule: EligibilityRule | 'PLATFORM_RULES'; botIds: readonly string[] };
  /** `extended`: why, and the new due date. */
  extension?: { reason: string; dueAt: string };
  site?: Partial<SiteInfo>;
}

export interface Notice {
  subject: string;
  text: string;
  html: string;
}

/** A date for people: "25 December 2026" (UTC, so it never shifts with the server). */
export function humanDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeZone: 'UTC' }).format(date);
}

/** The Art. 12(4) GDPR paragraph of every refusal: the reasons are given above it. */
export function art124Text(site: SiteInfo): string {
  return (
    'Under Article 12(4) of the GDPR we must tell you why we are not acting on your request, and that you have ' +
    `the right to lodge a complaint with a supervisory authority — ${site.supervisoryAuthority.name} (${site.supervisoryAuthority.url}) — ` +
    'and the right to seek a judicial remedy before the courts.'
  );
}

interface Parts {
  subject: string;
  paragraphs: string[];
  /** A list shown under the paragraphs (e.g. bot ids). */
  list?: string[];
  action?: { label: string; url: string };
  after?: string[];
  /** A second, lesser link after everything else (e.g. the status page next to the confirmation). */
  also?: { label: string; url: string };
}

function render(parts: Parts, site: SiteInfo): Notice {
  const signature = `— ${site.organisation}${site.contact ? ` (${site.contact})` : ''}`;
  const text = [
    ...parts.paragraphs,
    ...(parts.list?.length ? [parts.list.map((item) => `  - ${item}`).join('\n')] : []),
    ...(parts.action ? [`${parts.action.label}:\n${parts.action.url}`] : []),
    ...(parts.after ?? []),
    ...(parts.also ? [`${parts.also.label}:\n${parts.also.url}`] : []),
    signature,
  ].join('\n\n');
  const body: SafeHtml = html`<!doctype html><html lang="en"><body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1b1b1b">
${parts.paragraphs.map((p) => html`<p>${p}</p>`)}
${parts.list?.length ? html`<ul>${parts.list.map((item) => html`<li><code>${item}</code></li>`)}</ul>` : ''}
${parts.action ? html`<p><a href="${parts.action.url}">${parts.action.label}</a></p>` : ''}
${(parts.after ?? []).map((p) => html`<p>${p}</p>`)}
${parts.also ? html`<p><a href="${parts.also.url}">${parts.also.label}</a></p>` : ''}
<p>${signature}</p>
</body></html>`;
  return { subject: parts.subject, text, html: body.value };
}

/**
 * The email of one kind for one request. Pure: the caller sends it.
 * @throws TypeError when the context lacks what the kind needs (verifyUrl, rejection, extension).
 */
export function composeNotice(kind: NoticeKind, context: NoticeContext): Notice {
  const site: SiteInfo = { ...DEFAULT_SITE, ...context.site };
  const due = context.dueAt ? ` We will finish by ${humanDate(context.dueAt)} at the latest.` : '';
  const follow = { label: 'Follow your request', url: context.statusUrl };
  const ref = `Your request reference is ${context.requestId}.`;
  switch (kind) {
    case 'verify': {
      if (!context.verifyUrl) throw new TypeError('A verification notice needs verifyUrl');
      const minutes = context.linkValidMinutes ?? VERIFY_LINK_TTL_SECONDS / 60;
      return render(
        {
          subject: 'Confirm your request to erase your data',
          paragraphs: [
            `Someone — we hope you — asked ${site.organisation} to erase the conversations and data held about this email address in its Kore.ai bots.`,
            `To confirm that the request comes from you, open the link below within ${minutes} minutes. Nothing is erased until you do.`,
          ],
          action: { label: 'Confirm my request', url: context.verifyUrl },
          after: ['If you did not ask for this, ignore this message: the request will lapse on its own.', ref],
          also: { label: 'Follow the request (before and after you confirm it)', url: context.statusUrl },
        },
        site,
      );
    }
    case 'received':
      return render(
        {
          subject: 'We are erasing your data',
          paragraphs: [
            `Thank you: your request is confirmed and we have started erasing your conversations and data in ${site.organisation}'s Kore.ai bots.${due}`,
            'We will write again when it is done. Keep the link below: it shows the progress and, at the end, your erasure receipt.',
          ],
          action: follow,
          after: [ref],
        },
        site,
      );
    case 'already-open':
      return render(
        {
          subject: 'Your erasure request is already open',
          paragraphs: [
            `Someone — most likely you — asked again to erase the data of this address in ${site.organisation}'s Kore.ai bots. A request for it is already open, so we did not start a second one.${due}`,
            'The link below shows its progress and, at the end, your erasure receipt.',
          ],
          action: follow,
          after: ['If you did not ask again, you need not do anything.', ref],
        },
        site,
      );
    case 'completed':
      return render(
        {
          subject: 'Your data has been erased',
          paragraphs: [
            `Your conversations and data in ${site.organisation}'s Kore.ai bots have been erased.`,
            'The status page holds a signed erasure receipt. It contains no personal data, and anyone can check its signature with our public key.',
          ],
          action: { label: 'See the receipt', url: context.statusUrl },
          after: [ref],
        },
        site,
      );
    case 'failed-needs-staff':
      return render(
        {
          subject: 'Your erasure request needs more time',
          paragraphs: [
            'The platform could not finish erasing your data on the first try. Our staff have been told and will take it from here; you do not need to do anything.',
            `We still have to finish within the legal deadline.${due}`,
          ],
          action: follow,
          after: [ref],
        },
        site,
      );
    case 'rejected': {
      if (!context.rejection) throw new TypeError('A rejection notice needs the rule and bots');
      const why = explainRejection(context.rejection.rule, context.rejection.botIds);
      return render(
        {
          subject: 'We cannot erase your data yet',
          paragraphs: [
            `We cannot erase your data at the moment. The reason: ${why.title.charAt(0).toLowerCase()}${why.title.slice(1)}.`,
            `What you can do: ${why.whatToDo}`,
          ],
          list: context.rejection.botIds.length ? [...context.rejection.botIds] : undefined,
          action: follow,
          after: [art124Text(site), ref],
        },
        site,
      );
    }
    case 'extended': {
      if (!context.extension) throw new TypeError('An extension notice needs the reason and new due date');
      return render(
        {
          subject: 'We need more time for your erasure request',
          paragraphs: [
            `We have to extend the time we need to complete your request, as Article 12(3) of the GDPR allows. The new deadline is ${humanDate(context.extension.dueAt)}.`,
            `The reason: ${context.extension.reason}`,
          ],
          action: follow,
          after: [
            `If you disagree, you have the right to lodge a complaint with a supervisory authority — ${site.supervisoryAuthority.name} (${site.supervisoryAuthority.url}) — and to seek a judicial remedy.`,
            ref,
          ],
        },
        site,
      );
    }
  }
}
