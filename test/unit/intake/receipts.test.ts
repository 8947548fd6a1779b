import { CompactSign, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { chainEvent } from '../../../functions/domain/audit-chain';
import { CHECKPOINT_JWS_TYPE, RECEIPT_JWS_TYPE } from '../../../functions/domain/checkpoints';
import type { AuditEvent, ErasureRequest } from '../../../functions/domain/model';
import { flipSignatureCharacter } from '../../support/tamper';
import {
  createLocalSigner,
  generateLocalSigningKey,
  issueReceipt,
  ReceiptInvalidError,
  receiptFor,
  sha256Hex,
  verifyReceipt,
  type ReceiptInput,
} from '../../../functions/intake/receipts';

const INPUT: ReceiptInput = {
  requestId: '0190f0e0-0000-7000-8000-000000000001',
  subjectHash: 'a'.repeat(64),
  koreRequestId: 'eud-123',
  finalStatusSha256: sha256Hex('{"_id":"eud-123","response":[{"userId":"jane@example.com","status":"SUCCESS"}]}'),
  receivedAt: '2026-03-10T09:00:00.000Z',
  completedAt: '2026-03-10T09:30:00.000Z',
  attempt: 1,
};
const NOW = new Date('2026-03-10T09:30:01.000Z');

function completedRequest(): ErasureRequest {
  return {
    requestId: INPUT.requestId,
    status: 'COMPLETED',
    channel: 'web',
    subjectHash: INPUT.subjectHash,
    subjectKind: 'email',
    scope: { botIds: [] },
    scopeKey: '*',
    receivedAt: INPUT.receivedAt,
    dueAt: '2026-04-10T09:00:00.000Z',
    attempt: 1,
    koreRequestId: 'eud-123',
    completedAt: INPUT.completedAt,
    updatedAt: INPUT.completedAt,
    lastSeq: 1,
    lastHash: 'x',
  };
}

function completionEvent(details: AuditEvent['details']): AuditEvent[] {
  return [chainEvent(INPUT.requestId, undefined, { type: 'ERASURE_COMPLETED', at: INPUT.completedAt, actor: 'system:workflow', attempt: 1, status: 'COMPLETED', details })];
}

describe('erasure receipts', () => {
  it('verifies with the public key and states the request, job, answer hash and times', async () => {
    const { privateJwk, publicJwk } = await generateLocalSigningKey();
    const jws = await issueReceipt(createLocalSigner(privateJwk, RECEIPT_JWS_TYPE), INPUT, NOW);
    const claims = await verifyReceipt(jws, publicJwk as Record<string, unknown>);
    expect(claims).toEqual({ typ: 'erasure-receipt', v: 1, iss: 'erasure-desk', outcome: 'COMPLETED', iat: Math.floor(NOW.getTime() / 1000), ...INPUT });
  });

  it('holds no email address or other plain subject id', async () => {
    const { privateJwk } = await generateLocalSigningKey();
    const jws = await issueReceipt(createLocalSigner(privateJwk, RECEIPT_JWS_TYPE), INPUT, NOW);
    const decoded = jws
      .split('.')
      .slice(0, 2)
      .map((part) => Buffer.from(part, 'base64url').toString('utf8'))
      .join(' ');
    expect(decoded).not.toMatch(/@|jane/i);
  });

  it.each([
    ['a changed payload', async (jws: string) => {
      const [h, p, s] = jws.split('.');
      const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
      return [h, Buffer.from(JSON.stringify({ ...claims, koreRequestId: 'eud-999' })).toString('base64url'), s].join('.');
    }],
    ['a changed signature', async (jws: string) => flipSignatureCharacter(jws)],
    ['garbage', async () => 'not.a.jws'],
  ])('refuses %s', async (_name, tamper) => {
    const { privateJwk, publicJwk } = await generateLocalSigningKey();
    const jws = await issueReceipt(createLocalSigner(privateJwk, RECEIPT_JWS_TYPE), INPUT, NOW);
    await expect(verifyReceipt(await tamper(jws), publicJwk as Record<string, unknown>)).rejects.toBeInstanceOf(ReceiptInvalidError);
  });

  it('refuses a receipt checked with another key', async () => {
    const mine = await generateLocalSigningKey();
    const other = await generateLocalSigningKey();
    const jws = await issueReceipt(createLocalSigner(mine.privateJwk, RECEIPT_JWS_TYPE), INPUT, NOW);
    await expect(verifyReceipt(jws, other.publicJwk as Record<string, unknown>)).rejects.toBeInstanceOf(ReceiptInvalidError);
  });

  it('refuses a validly signed payload that is not a receipt', async () => {
    const { privateJwk, publicJwk } = await generateLocalSigningKey();
    const jws = await createLocalSigner(privateJwk, RECEIPT_JWS_TYPE).sign({ hello: 'world' });
    await expect(verifyReceipt(jws, publicJwk as Record<string, unknown>)).rejects.toThrow('not an erasure receipt');
  });

  it('says in its protected header that it is a receipt', async () => {
    const { privateJwk } = await generateLocalSigningKey();
    const jws = await issueReceipt(createLocalSigner(privateJwk, RECEIPT_JWS_TYPE), INPUT, NOW);
    expect(decodeProtectedHeader(jws)).toMatchObject({ alg: 'ES256', typ: 'erasure-receipt+jws' });
  });

  it.each([
    { name: 'a checkpoint type', typ: CHECKPOINT_JWS_TYPE },
    { name: 'the generic JWT type', typ: 'JWT' },
  ])('refuses receipt claims signed with the right key under $name', async ({ typ }) => {
    const { privateJwk, publicJwk } = await generateLocalSigningKey();
    const jws = await issueReceipt(createLocalSigner(privateJwk, typ), INPUT, NOW);
    await expect(verifyReceipt(jws, publicJwk as Record<string, unknown>)).rejects.toThrow('wrong JWS typ');
  });

  it('refuses to make a local signer that does not say what it signs', async () => {
    const { privateJwk } = await generateLocalSigningKey();
    expect(() => createLocalSigner(privateJwk, '')).toThrow(TypeError);
  });

  it('refuses an HMAC-signed look-alike (algorithms are pinned)', async () => {
    const { publicJwk } = await generateLocalSigningKey();
    const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify({ typ: 'erasure-receipt', iss: 'erasure-desk', requestId: 'x', outcome: 'COMPLETED' })))
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new Uint8Array(32));
    await expect(verifyReceipt(jws, publicJwk as Record<string, unknown>)).rejects.toBeInstanceOf(ReceiptInvalidError);
  });

  it('publishes only the public part of the local key', async () => {
    const { privateJwk } = await generateLocalSigningKey();
    const signer = createLocalSigner(privateJwk, RECEIPT_JWS_TYPE);
    const jwk = await signer.publicJwk();
    expect(jwk).not.toHaveProperty('d');
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', kid: signer.keyId });
  });

  it('refuses a local signing key that is not an EC P-256 private key', async () => {
    const { publicJwk } = await generateLocalSigningKey();
    expect(() => createLocalSigner(publicJwk, RECEIPT_JWS_TYPE)).toThrow(TypeError);
    const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
    const edJwk = await exportJWK(privateKey);
    expect(() => createLocalSigner(edJwk, RECEIPT_JWS_TYPE)).toThrow(TypeError);
  });

  it('uses the receipt the workflow stored at completion, or signs one from the recorded hash', async () => {
    const { privateJwk, publicJwk } = await generateLocalSigningKey();
    const signer = createLocalSigner(privateJwk, RECEIPT_JWS_TYPE);
    const stored = await issueReceipt(signer, INPUT, NOW);
    expect(await receiptFor(signer, completedRequest(), completionEvent({ receipt: stored }))).toBe(stored);

    const signed = await receiptFor(signer, completedRequest(), completionEvent({ finalStatusSha256: INPUT.finalStatusSha256 }));
    expect(await verifyReceipt(signed!, publicJwk as Record<string, unknown>)).toMatchObject({ ...INPUT, iat: Math.floor(Date.parse(INPUT.completedAt) / 1000) });
  });

  it('gives no receipt before completion or without the platform answer’s hash', async () => {
    const { privateJwk } = await generateLocalSigningKey();
    const signer = createLocalSigner(privateJwk, RECEIPT_JWS_TYPE);
    expect(await receiptFor(signer, { ...completedRequest(), status: 'IN_PROGRESS' }, completionEvent({ finalStatusSha256: 'x' }))).toBeUndefined();
    expect(await receiptFor(signer, completedRequest(), completionEvent({}))).toBeUndefined();
  });
});
