/**
 * End-to-end helpers: the real local runtime (in-process, fresh data directory, dynalite in
 * memory, the Kore.ai simulator) driven over real HTTP, as a subject, an auditor and ops would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compressedRuntimeOptions, startLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from '../../infra/local/runtime';

export interface E2eRuntime extends LocalRuntime {
  auditorToken: string;
  opsToken: string;
  dataDir: string;
  close(): Promise<void>;
}

/** Starts a runtime for one test file; waits are compressed (1 s polls, 50 ms retries). */
export async function startE2eRuntime(options: Partial<LocalRuntimeOptions> = {}): Promise<E2eRuntime> {
  const dataDir = mkdtempSync(join(tmpdir(), 'erasure-desk-e2e-'));
  const runtime = await startLocalRuntime(compressedRuntimeOptions(dataDir, options));
  return {
    ...runtime,
    dataDir,
    auditorToken: await runtime.devIssuer.issueToken('auditor', 'e2e-auditor'),
    opsToken: await runtime.devIssuer.issueToken('ops', 'e2e-ops'),
    close: async () => {
      await runtime.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let counter = 0;
/** A fresh end-user address the simulator does not know as privileged. */
export function freshEmail(tag = 'subject'): string {
  counter++;
  return `${tag}-${process.pid}-${Date.now().toString(36)}-${counter}@example.com`;
}

export async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

/** POST /requests as JSON, the way an API client submits. */
export async function submitJson(baseUrl: string, body: unknown): Promise<Response> {
  return fetch(`${baseUrl}/requests`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) });
}

interface OutboxEntry {
  to: string;
  subject: string;
  text: string;
  kind: string;
  requestId?: string;
}

/** The messages of the local outbox (newest first), read over HTTP. */
export async function outbox(baseUrl: string): Promise<OutboxEntry[]> {
  return json<OutboxEntry[]>(await fetch(`${baseUrl}/dev/outbox.json`));
}

/** The mails of one address (newest first), as that person's inbox would show them. */
export async function inbox(baseUrl: string, email: string): Promise<OutboxEntry[]> {
  return json<OutboxEntry[]>(await fetch(`${baseUrl}/dev/outbox.json?to=${encodeURIComponent(email.trim())}`));
}

/**
 * The request the newest mail to `email` is about. A submission's answer names no request (it
 * must not tell whoever typed an address what that address has), so tests find it as the
 * subject does: in the mailbox. @throws when the address got no mail about a request.
 */
export async function mailedRequestId(baseUrl: string, email: string): Promise<string> {
  const requestId = (await inbox(baseUrl, email)).find((m) => m.requestId)?.requestId;
  if (!requestId) throw new Error('No mail about a request reached that address');
  return requestId;
}

/**
 * Confirms as the confirmation page's button does: POSTs the emailed link's token to /verify
 * (opening the link itself only shows that page). Redirects are not followed.
 */
export async function confirmLink(link: string, accept = 'text/html'): Promise<Response> {
  const url = new URL(link);
  return fetch(`${url.origin}/verify`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept },
    body: new URLSearchParams({ token: url.searchParams.get('token') ?? '' }).toString(),
  });
}

/** The verification link mailed for a request. @throws when there is none. */
export async function verificationLink(baseUrl: string, requestId: string): Promise<string> {
  const mail = (await outbox(baseUrl)).find((m) => m.requestId === requestId && m.kind === 'verification');
  const link = mail?.text.match(/https?:\/\/\S+\/verify\?token=[\w.-]+/)?.[0];
  if (!link) throw new Error(`No verification link for ${requestId}`);
  return link;
}

/** Submits for `email`, follows the mailed link; returns the request id. */
export async function submitAndVerify(baseUrl: string, email: string, botIds?: string[]): Promise<string> {
  const submitted = await submitJson(baseUrl, { email, ...(botIds ? { botIds } : {}) });
  if (submitted.status !== 202) throw new Error(`Submission answered ${submitted.status}: ${await submitted.text()}`);
  const requestId = await mailedRequestId(baseUrl, email);
  const verified = await confirmLink(await verificationLink(baseUrl, requestId));
  if (verified.status !== 303) throw new Error(`Verification answered ${verified.status}`);
  return requestId;
}

export interface AuditDetail {
  request: { requestId: string; status: string; attempt: number; koreRequestId?: string; rejection?: { rule: string; botIds: string[]; source: string }; failureReason?: string };
  timeline: { seq: number; type: string; status: string; actor: string; attempt: number; details: Record<string, unknown> }[];
  chain: { ok: boolean; checked: number };
}

/** GET /audit/requests/{id} with an auditor token. */
export async function auditDetail(runtime: E2eRuntime, requestId: string): Promise<AuditDetail> {
  const response = await fetch(`${runtime.url}/audit/requests/${requestId}`, { headers: { authorization: `Bearer ${runtime.auditorToken}` } });
  if (response.status !== 200) throw new Error(`Audit detail answered ${response.status}: ${await response.text()}`);
  return json<AuditDetail>(response);
}

/** Polls the audit API until the request is in one of `statuses` (bounded by `timeoutMs`). */
export async function waitForStatus(runtime: E2eRuntime, requestId: string, statuses: string[], timeoutMs = 30_000): Promise<AuditDetail> {
  const until = Date.now() + timeoutMs;
  let last: AuditDetail | undefined;
  while (Date.now() < until) {
    last = await auditDetail(runtime, requestId);
    if (statuses.includes(last.request.status)) {
      // Let the execution finish its last steps (notice, dropping the plain id) before reading it whole.
      await runtime.workflow.idle();
      return auditDetail(runtime, requestId);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Request ${requestId} stayed ${last?.request.status}, expected ${statuses.join('|')}`);
}

/** Erase calls the simulator accepted for one user (a real job was created each time). */
export function acceptedErasures(runtime: LocalRuntime, userId: string): number {
  return runtime.simulator!.calls().filter((c) => c.outcome === 'accepted' && c.userIds?.includes(userId)).length;
}

/** Removes an E2E data directory (for tests that start runtimes themselves). */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
