/**
 * DNS-rebinding defence of the local runtime (and of the Kore.ai simulator it starts). Both listen
 * on 127.0.0.1 only, but a web page the developer opens can point a name it controls
 * (`evil.example`) at 127.0.0.1 after loading and then read the outbox, the consoles or the
 * simulator's call list as same-origin. What gives it away is the Host header: the browser sends
 * the page's name, not ours. So a request is answered only when it names this server exactly —
 * `127.0.0.1:<port>`, `localhost:<port>` or `[::1]:<port>` (the port may be left out only when it
 * is 80) — and arrives in origin form (`/path`): anything else gets 421 Misdirected Request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MisdirectedRequestError, sendGatewayProblem } from './gateway-answers';

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * True when `host` (the Host header) names this loopback server on `port`. Case-insensitive; no
 * trailing dot, user info, path or second value is accepted.
 */
export function isAllowedHost(host: string | undefined, port: number): boolean {
  if (host === undefined || host.length === 0 || host.length > 64) return false;
  const match = /^(\[::1\]|[A-Za-z0-9.]+?)(?::(\d{1,5}))?$/.exec(host);
  if (!match) return false;
  const name = match[1]!.toLowerCase();
  if (!LOOPBACK_NAMES.has(name)) return false;
  const given = match[2] === undefined ? 80 : Number(match[2]);
  return match[2]?.startsWith('0') !== true && given === port;
}

/** Why a request is refused before routing, or undefined when it may be routed. */
export function hostRefusal(request: { url?: string; headers: { host?: string } }, port: number): { status: 400 | 421; title: string } | undefined {
  // Absolute form (`GET http://evil/ HTTP/1.1`) and `*` are proxy requests, never ours; they would
  // also sidestep the Host header.
  if (!request.url || !request.url.startsWith('/')) return { status: 400, title: 'Request target must be a path' };
  if (!isAllowedHost(request.headers.host, port)) return { status: 421, title: 'Misdirected request: this server answers only to 127.0.0.1, localhost and [::1] on its own port' };
  return undefined;
}

/**
 * Answers a request that is not addressed to this server (problem+json, nothing else read) and
 * returns true; returns false, writing nothing, for a request that may be routed.
 */
export function refuseForeignHost(req: IncomingMessage, res: ServerResponse): boolean {
  const refusal = hostRefusal(req, req.socket.localPort ?? 0);
  if (!refusal) return false;
  sendGatewayProblem(res, new MisdirectedRequestError(refusal.status, refusal.title));
  return true;
}
