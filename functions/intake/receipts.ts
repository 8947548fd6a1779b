/**
 * The erasure receipt: a compact JWS the subject can keep and an auditor can verify with the
 * published public key. It proves which request was erased, when, and with which answer of the
 * platform (by hash), while holding no personal data: the subject appears only as the keyed hash
 * the audit trail already uses.
 *
 * Also a local `Signer` (ES256 key pair as JWKs) for development and tests; in AWS a KMS-backed
 * signer implements the same port.
 */
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, compactVerify, CompactSign, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { RECEIPT_JWS_TYPE } from '../domain/checkpoints';
import { DomainError } from '../domain/errors';
import type { AuditEvent, ErasureRequest } from '../domain/model';
import type { Signer } from '../domain/ports';

export const RECEIPT_TYPE = 'erasure-receipt';
export const RECEIPT_VERSION = 1;
export const RECEIPT_ISSUER = 'erasure-desk';

/** What a receipt states. Only identifiers, hashes and times: nothing that names a person. */
export interface ReceiptClaims {
  typ: typeof RECEIPT_TYPE;
  v: typeof RECEIPT_VERSION;
  iss: typeof RECEIPT_ISSUER;
  requestId: string;
  /** HMAC of the normalised subject id, as in the audit trail. */
  subjectHash: string;
  /** The Kore.ai job that erased the data. */
  koreRequestId: string;
  /** sha256 (hex) of the platform's final status answer, exactly as received. */
  finalStatusSha256: string;
  receivedAt: string;
  completedAt: string;
  outcome: 'COMPLETED';
  attempt: number;
  /**
   * What reading the platform back found after it said SUCCESS (functions/domain/verification.ts):
   * the outcome, and once one stands the sha256 of the read-back answers and the span read. Absent
   * when the request was not chosen for read-back.
   */
  verification?: ReceiptVerification;
  /** When the receipt was signed (seconds since the epoch). */
  iat: number;
}

export interface ReceiptVerification {
  outcome: 'pending' | 'verified' | 'data-found' | 'not-verified';
  reason?: string;
  readBackSha256?: string;
  windowFrom?: string;
  windowTo?: string;
  at?: string;
}

/** The receipt's verification claim of a request's verification of this attempt. */
export function receiptVerificationOf(verification: ErasureRequest['verification'], attempt: number): ReceiptVerification | undefined {
  if (!verification || verification.attempt !== attempt) return undefined;
  if (verification.stage === 'pending' || verification.stage === 'recheck') return { outcome: 'pending' };
  return {
    outcome: verification.stage,
    ...(verification.reason ? { reason: verification.reason } : {}),
    ...(verification.readBackSha256 ? { readBackSha256: verification.readBackSha256 } : {}),
    ...(verification.window ? { windowFrom: verification.window.from, windowTo: verification.window.to } : {}),
    ...(verification.at ? { at: verification.at } : {}),
  };
}

/** A receipt that does not verify: bad signature, wrong key, or not a receipt (for auditors). */
export class ReceiptInvalidError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReceiptInvalidError';
  }
}

/** The request has not (yet) been completed with what a receipt needs. */
export class ReceiptUnavailableError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReceiptUnavailableError';
  }
}

/** sha256 (hex) of a body exactly as received; the workflow stores it with ERASURE_COMPLETED. */
export function sha256Hex(body: string | Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

/** What a receipt is built from (everything is in the request and its completion event). */
export interface ReceiptInput {
  requestId: string;
  subjectHash: string;
  koreRequestId: string;
  finalStatusSha256: string;
  receivedAt: string;
  completedAt: string;
  attempt: number;
  verification?: ReceiptVerification;
}

/** The claims of a receipt. */
export function buildReceiptClaims(input: ReceiptInput, now: Date): ReceiptClaims {
  return {
    typ: RECEIPT_TYPE,
    v: RECEIPT_VERSION,
    iss: RECEIPT_ISSUER,
    requestId: input.requestId,
    subjectHash: input.subjectHash,
    koreRequestId: input.koreRequestId,
    finalStatusSha256: input.finalStatusSha256,
    receivedAt: input.receivedAt,
    completedAt: input.completedAt,
    outcome: 'COMPLETED',
    attempt: input.attempt,
    ...(input.verification ? { verification: input.verification } : {}),
    iat: Math.floor(now.getTime() / 1000),
  };
}

/**
 * Signs a receipt through the `Signer` port (KMS in AWS, a local key otherwise). The workflow's
 * record-outcome can call this at completion and keep the JWS in the ERASURE_COMPLETED event's
 * `details.receipt`; the status page then shows that very JWS.
 * @throws whatever the signer throws.
 */
export async function issueReceipt(signer: Signer, input: ReceiptInput, now: Date): Promise<string> {
  return signer.sign({ ...buildReceiptClaims(input, now) });
}

/**
 * The receipt of a COMPLETED request: the JWS stored with its ERASURE_COMPLETED event
 * (`details.receipt`), or — when the workflow stored only the ingredients
 * (`details.finalStatusSha256`, or `details.statusBodySha256`) — one signed now from the request
 * and that event, issued as of completion. Undefined when the request is not completed or lacks the ingredients.
 * @throws whatever the signer throws.
 */
export async function receiptFor(signer: Signer, request: ErasureRequest, timeline: readonly AuditEvent[]): Promise<string | undefined> {
  if (request.status !== 'COMPLETED') return undefined;
  const completed = [...timeline].reverse().find((e) => e.type === 'ERASURE_COMPLETED');
  if (!completed) return undefined;
  const d = completed.details;
  const verification = receiptVerificationOf(request.verification, completed.attempt);
  if (typeof d.receipt === 'string' && d.receipt.split('.').length === 3 && !verification) return d.receipt;
  const finalStatusSha256 = typeof d.finalStatusSha256 === 'string' ? d.finalStatusSha256 : typeof d.statusBodySha256 === 'string' ? d.statusBodySha256 : undefined;
  const koreRequestId = typeof d.koreRequestId === 'string' ? d.koreRequestId : request.koreRequestId;
  if (!finalStatusSha256 || !koreRequestId) return undefined;
  return issueReceipt(
    signer,
    {
      requestId: request.requestId,
      subjectHash: request.subjectHash,
      koreRequestId,
      finalStatusSha256,
      receivedAt: request.receivedAt,
      completedAt: request.completedAt ?? completed.at,
      attempt: completed.attempt,
      ...(verification ? { verification } : {}),
    },
    // Issued as of completion, so every copy states the same claims (only the signature bytes differ).
    new Date(request.completedAt ?? completed.at),
  );
}

/**
 * Verifies a receipt with the receipt key's public half (what an auditor does): the signature, the
 * algorithm (ES256 or EdDSA only), the JWS `typ` (`erasure-receipt+jws`, so a checkpoint or any
 * other JWS never passes) and that the payload is a receipt of ours.
 * @throws ReceiptInvalidError when any of that fails.
 */
export async function verifyReceipt(jws: string, publicJwk: Record<string, unknown>): Promise<ReceiptClaims> {
  let payload: Uint8Array;
  let typ: unknown;
  try {
    const jwk = publicJwk as JWK;
    const alg = typeof jwk.alg === 'string' ? jwk.alg : jwk.crv === 'Ed25519' ? 'EdDSA' : 'ES256';
    const key = await importJWK({ ...jwk, d: undefined }, alg);
    let protectedHeader: { typ?: unknown };
    ({ payload, protectedHeader } = await compactVerify(jws, key, { algorithms: ['ES256', 'EdDSA'] }));
    typ = protectedHeader.typ;
  } catch (cause) {
    throw new ReceiptInvalidError('The receipt signature does not verify with this key', { cause });
  }
  if (typ !== RECEIPT_JWS_TYPE) throw new ReceiptInvalidError('The signed object is not a receipt (wrong JWS typ)');
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder().decode(payload));
  } catch (cause) {
    throw new ReceiptInvalidError('The receipt payload is not JSON', { cause });
  }
  const c = claims as Partial<ReceiptClaims> | null;
  if (!c || c.typ !== RECEIPT_TYPE || c.iss !== RECEIPT_ISSUER || typeof c.requestId !== 'string' || c.outcome !== 'COMPLETED') {
    throw new ReceiptInvalidError('The signed payload is not an erasure receipt');
  }
  return c as ReceiptClaims;
}

/** A fresh ES256 key pair as JWKs (kid = RFC 7638 thumbprint), for `createLocalSigner`. */
export async function generateLocalSigningKey(): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const { d: _d, ...pub } = privateJwk;
  const kid = await calculateJwkThumbprint(pub);
  return { privateJwk: { ...privateJwk, kid, alg: 'ES256', use: 'sig' }, publicJwk: { ...pub, kid, alg: 'ES256', use: 'sig' } };
}

/**
 * A `Signer` over a local ES256 private JWK (development, tests, the local runtime). Headers
 * carry `alg`, `kid` and `typ` — the kind of object this key signs (`RECEIPT_JWS_TYPE` or
 * `CHECKPOINT_JWS_TYPE`); give each kind its own key.
 * @throws TypeError when the JWK is not an EC P-256 private key or `typ` is empty.
 */
export function createLocalSigner(privateJwk: JWK, typ: string): Signer {
  if (!typ) throw new TypeError('A local signer needs the JWS typ of what it signs');
  if (privateJwk.kty !== 'EC' || privateJwk.crv !== 'P-256' || typeof privateJwk.d !== 'string') {
    throw new TypeError('The local signing key must be an EC P-256 private JWK');
  }
  const { d: _d, ...pub } = privateJwk;
  const keyPromise = importJWK({ ...privateJwk, alg: 'ES256' }, 'ES256');
  const kid = privateJwk.kid ?? 'local';
  return {
    keyId: kid,
    alg: 'ES256',
    typ,
    async sign(payload) {
      const bytes = new TextEncoder().encode(JSON.stringify(payload));
      return new CompactSign(bytes).setProtectedHeader({ alg: 'ES256', kid, typ }).sign(await keyPromise);
    },
    async publicJwk() {
      return { ...pub, kid, alg: 'ES256', use: 'sig' };
    },
  };
}
