/**
 * HTTP plumbing for API Gateway v2 (HTTP API) events, shared by the public intake and the staff
 * console: reading a body defensively (size, encoding, content type, JSON shape) and building
 * answers (problem+json, JSON, HTML with security headers, redirects).
 *
 * Every refusal is an `HttpProblem` with a 4xx status, so callers never answer a malformed
 * request with a 5xx, and nothing of the input is echoed back in a problem.
 *
 * Longer than 300 lines on purpose: the defensive reading of every HTTP request (headers, cookies, bounded body, JSON depth, forms) and the answers, shared by every HTTP entry.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { SafeHtml } from '../../../domain/html';
import { HttpProblem, problem, type FieldError, type Problem } from './problem';
import { FORBIDDEN_KEYS } from '../../../intake/schema';

export type HttpResult = APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string> };

/** Bodies larger than this are refused (413) before anything else is looked at. */
export const MAX_BODY_BYTES = 16 * 1024;
/** JSON deeper than this (objects/arrays inside each other) is refused: our payloads are two levels deep. */
export const MAX_JSON_DEPTH = 5;

/**
 * Content Security Policy of every page: nothing may load but our own stylesheet and inline
 * images; no script at all (the pages work without it), no framing, forms post only to us.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Headers on every HTML page. Pages may carry tokens (status, CSRF): never cached, never referred. */
export const HTML_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), interest-cohort=()',
  'cache-control': 'no-store',
};

/** Headers on every API answer (JSON or problem). */
export const API_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
};

// ---------------------------------------------------------------------------------------------
// Reading requests

/** A request header, case-insensitively (API Gateway v2 lower-cases them; local runtimes may not). */
export function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const headers = event.headers ?? {};
  const wanted = name.toLowerCase();
  if (headers[wanted] !== undefined) return headers[wanted];
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

/** The method, upper-case. */
export function method(event: APIGatewayProxyEventV2): string {
  return (event.requestContext?.http?.method ?? 'GET').toUpperCase();
}

/** One query parameter (the first when repeated), percent-decoded. */
export function queryParam(event: APIGatewayProxyEventV2, name: string): string | undefined {
  if (event.rawQueryString !== undefined && event.rawQueryString !== '') {
    try {
      return new URLSearchParams(event.rawQueryString).get(name) ?? undefined;
    } catch {
      return undefined;
    }
  }
  return event.queryStringParameters?.[name];
}

/** Cookies by name: from `event.cookies` (API Gateway v2) or a `cookie` header (other runtimes). */
export function readCookies(event: APIGatewayProxyEventV2): Map<string, string> {
  const jar = new Map<string, string>();
  const pairs = [...(event.cookies ?? []), ...(header(event, 'cookie')?.split(';') ?? [])];
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    const name = pair.slice(0, at).trim();
    if (!jar.has(name)) jar.set(name, pair.slice(at + 1).trim());
  }
  return jar;
}

/** True when the caller asks for JSON rather than a page (`Accept: application/json` without HTML). */
export function wantsJson(event: APIGatewayProxyEventV2): boolean {
  const accept = (header(event, 'accept') ?? '').toLowerCase();
  return /application\/(problem\+)?json/.test(accept) && !accept.includes('text/html');
}

const bad = (slug: string, title: string, detail: string) => new HttpProblem(problem(400, slug, title, detail));

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Decodes UTF-8 strictly: invalid byte sequences are refused, not replaced.
 * @throws HttpProblem 400 `invalid-encoding`.
 */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw bad('invalid-encoding', 'The request is not valid UTF-8', 'Send the body encoded as UTF-8.');
  }
}

/** 413: a body over `maxBytes` (the functions' limit, and the local runtime's own). */
export function bodyTooLargeProblem(maxBytes: number): Problem {
  return problem(413, 'body-too-large', 'The request is too large', `A request body can have at most ${maxBytes} bytes.`);
}

/**
 * The body's bytes, limited in size; base64 bodies (API Gateway sets `isBase64Encoded` for
 * binary-looking content) are decoded first.
 * @throws HttpProblem 413 when larger than `maxBytes`, 400 when the base64 is broken.
 */
export function bodyBytes(event: APIGatewayProxyEventV2, maxBytes = MAX_BODY_BYTES): Uint8Array {
  const body = event.body ?? '';
  const tooLarge = () => new HttpProblem(bodyTooLargeProblem(maxBytes));
  if (event.isBase64Encoded) {
    // Cheap bound before decoding: 4 base64 characters carry 3 bytes.
    if (body.length > Math.ceil(maxBytes / 3) * 4 + 4) throw tooLarge();
    if (!/^[A-Za-z0-9+/\r\n]*={0,2}[\r\n]*$/.test(body)) throw bad('malformed-body', 'The request body is not valid base64', 'Send the body as UTF-8 text.');
    const bytes = Buffer.from(body, 'base64');
    if (bytes.byteLength > maxBytes) throw tooLarge();
    return new Uint8Array(bytes);
  }
  // A JS string of n code units is at most 3n UTF-8 bytes and at least n.
  if (body.length > maxBytes) throw tooLarge();
  const bytes = Buffer.from(body, 'utf8');
  if (bytes.byteLength > maxBytes) throw tooLarge();
  return new Uint8Array(bytes);
}

/** The two encodings the API accepts. */
export type BodyKind = 'json' | 'form';

/**
 * Which accepted encoding the `content-type` names; a charset other than UTF-8 is refused.
 * @throws HttpProblem 415 when absent or not one of `accept`.
 */
export function contentKind(event: APIGatewayProxyEventV2, accept: readonly BodyKind[] = ['json', 'form']): BodyKind {
  const raw = header(event, 'content-type');
  const refuse = () =>
    new HttpProblem(
      problem(415, 'unsupported-media-type', 'Unsupported content type', `Send ${accept.map((k) => (k === 'json' ? 'application/json' : 'application/x-www-form-urlencoded')).join(' or ')} encoded as UTF-8.`),
      { accept: accept.map((k) => (k === 'json' ? 'application/json' : 'application/x-www-form-urlencoded')).join(', ') },
    );
  if (!raw) throw refuse();
  const [type, ...params] = raw.split(';').map((p) => p.trim().toLowerCase());
  for (const param of params) {
    if (param === '') continue;
    const [key, value] = param.split('=').map((p) => p.trim().replace(/^"|"$/g, ''));
    if (key === 'charset' && value !== 'utf-8' && value !== 'utf8') throw refuse();
  }
  const kind: BodyKind | undefined = type === 'application/json' ? 'json' : type === 'application/x-www-form-urlencoded' ? 'form' : undefined;
  if (!kind || !accept.includes(kind)) throw refuse();
  return kind;
}

/** Deepest nesting of arrays/objects in JSON text, counted without parsing (strings skipped). */
function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) max = depth;
      if (max > limit) return max;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/**
 * Parses JSON text defensively: nesting is bounded (checked before parsing) and keys that could
 * reach a prototype (`__proto__`, `constructor`, `prototype`) are refused anywhere.
 * @throws HttpProblem 400 `malformed-json`, `too-deep` or `forbidden-key`.
 */
export function parseJson(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  if (jsonDepth(text, maxDepth) > maxDepth) {
    throw bad('too-deep', 'The JSON is nested too deeply', `Objects and arrays can be nested at most ${maxDepth} levels deep.`);
  }
  let forbidden = false;
  let value: unknown;
  try {
    value = JSON.parse(text, function reviver(key, v) {
      if (FORBIDDEN_KEYS.has(key) && !Array.isArray(this)) forbidden = true;
      return v;
    });
  } catch {
    throw bad('malformed-json', 'The request body is not valid JSON', 'Send one JSON object.');
  }
  if (forbidden) throw bad('forbidden-key', 'The JSON uses a forbidden key', 'The keys __proto__, constructor and prototype are not allowed.');
  return value;
}

/**
 * Decodes `application/x-www-form-urlencoded` text into fields (name → values in order). Percent
 * escapes are decoded to bytes and then read as strict UTF-8, so invalid bytes are refused
 * rather than silently replaced (which `URLSearchParams` would do).
 * @throws HttpProblem 400 `malformed-form` or `invalid-encoding`.
 */
export function parseForm(text: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  if (text === '') return fields;
  const decode = (part: string): string => {
    const plus = part.replace(/\+/g, ' ');
    if (/%(?![0-9A-Fa-f]{2})/.test(plus)) throw bad('malformed-form', 'The form data is malformed', 'A percent sign must start a two-digit escape.');
    const bytes: number[] = [];
    for (let i = 0; i < plus.length; i++) {
      if (plus[i] === '%') {
        bytes.push(parseInt(plus.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        for (const b of Buffer.from(plus[i]!, 'utf8')) bytes.push(b);
      }
    }
    return decodeUtf8(Uint8Array.from(bytes));
  };
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    const name = decode(at < 0 ? pair : pair.slice(0, at));
    const value = at < 0 ? '' : decode(pair.slice(at + 1));
    const values = fields.get(name);
    if (values) values.push(value);
    else fields.set(name, [value]);
  }
  return fields;
}

export type ParsedBody = { kind: 'json'; value: unknown } | { kind: 'form'; fields: Map<string, string[]> };

/**
 * Reads a POST body: size limit, base64, content type, strict UTF-8, then JSON or form parsing.
 * The order matters: the cheapest checks that need nothing of the content come first.
 * @throws HttpProblem 413, 415 or 400 (see the helpers above).
 */
export function parseBody(event: APIGatewayProxyEventV2, options: { maxBytes?: number; accept?: readonly BodyKind[] } = {}): ParsedBody {
  const bytes = bodyBytes(event, options.maxBytes);
  const kind = contentKind(event, options.accept);
  const text = decodeUtf8(bytes);
  if (kind === 'json') {
    if (text.trim() === '') throw bad('malformed-json', 'The request body is empty', 'Send one JSON object.');
    return { kind, value: parseJson(text) };
  }
  return { kind, fields: parseForm(text.trim()) };
}

// ---------------------------------------------------------------------------------------------
// Answers

/** An `application/problem+json` answer (RFC 9457). */
export function problemResponse(p: Problem, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode: p.status,
    headers: { ...API_HEADERS, 'content-type': 'application/problem+json', ...headers },
    body: JSON.stringify(p),
  };
}


/** A JSON answer. */
export function jsonResponse(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return { statusCode, headers: { ...API_HEADERS, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

/** An HTML page with the security headers; `cookies` become `Set-Cookie` (API Gateway v2 `cookies`). */
export function htmlResponse(statusCode: number, page: SafeHtml, options: { headers?: Record<string, string>; cookies?: string[] } = {}): HttpResult {
  return {
    statusCode,
    headers: { ...HTML_SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', ...options.headers },
    body: page.value,
    ...(options.cookies?.length ? { cookies: options.cookies } : {}),
  };
}

/** `303 See Other`: after a form post, the browser fetches `location` with GET. */
export function redirect(location: string, options: { cookies?: string[] } = {}): HttpResult {
  return {
    statusCode: 303,
    headers: { ...API_HEADERS, location },
    body: '',
    ...(options.cookies?.length ? { cookies: options.cookies } : {}),
  };
}

/** A static text asset (stylesheet), cacheable for an hour. */
export function assetResponse(body: string, contentType: string): HttpResult {
  return {
    statusCode: 200,
    headers: { 'content-type': contentType, 'cache-control': 'public, max-age=3600', 'x-content-type-options': 'nosniff' },
    body,
  };
}
