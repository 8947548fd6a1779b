/**
 * The local stand-in for email: every message is a JSON file under `<dataDir>/outbox/` and shows
 * on the `/dev/outbox` page, links clickable. In AWS the same `Mailer` port is SES.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Mailer, OutgoingMail } from '../../functions/domain/ports';
import { html, raw, type SafeHtml } from '../../functions/domain/html';

export interface OutboxMessage extends OutgoingMail {
  messageId: string;
  at: string;
}

export class OutboxMailer implements Mailer {
  readonly #dir: string;
  /** Every message, oldest first: read from the folder once, then kept as they are sent. */
  readonly #messages: OutboxMessage[];

  constructor(dir: string) {
    this.#dir = dir;
    mkdirSync(dir, { recursive: true });
    this.#messages = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .flatMap((f) => {
        try {
          return [JSON.parse(readFileSync(join(dir, f), 'utf8')) as OutboxMessage];
        } catch {
          // Torn by a kill before the rename below existed: that mail was never handed over.
          return [];
        }
      });
  }

  async send(mail: OutgoingMail): Promise<{ messageId: string }> {
    const messageId = randomUUID();
    const at = new Date().toISOString();
    const message: OutboxMessage = { ...mail, messageId, at };
    // Written aside and renamed into place, so a process killed mid-write leaves no torn message.
    const file = join(this.#dir, `${at.replace(/[:.]/g, '-')}-${messageId}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(message, null, 2));
    renameSync(`${file}.tmp`, file);
    this.#messages.push(message);
    return { messageId };
  }

  /** Every message, or those to one address (compared case-insensitively), newest first. */
  list(to?: string): OutboxMessage[] {
    const wanted = to?.toLowerCase();
    return this.#messages.filter((m) => wanted === undefined || m.to.toLowerCase() === wanted).reverse();
  }
}

/** Text with its http(s) links turned into anchors; everything escaped. */
function linkify(text: string): SafeHtml {
  const parts = text.split(/(https?:\/\/[^\s<>"']+)/g);
  return html`${parts.map((part, i) => (i % 2 === 1 ? html`<a href="${part}">${part}</a>` : part))}`;
}

/** The `/dev/outbox` page. */
export function renderOutboxPage(messages: OutboxMessage[]): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Local outbox · Erasure desk</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/assets/site.css"></head>
<body><main class="page">
<h1>Local outbox</h1>
<p>Every email the desk would send. Locally nothing leaves this machine; in AWS these go out through SES.</p>
${messages.length === 0 ? html`<p>No messages yet.</p>` : raw('')}
${messages.map(
  (m) => html`<article class="mail" data-kind="${m.kind}" data-request-id="${m.requestId ?? ''}">
<h2>${m.subject}</h2>
<p class="meta">To ${m.to} · ${m.at} · ${m.kind}</p>
<pre>${linkify(m.text)}</pre>
</article>`,
)}
</main></body></html>`.toString();
}
