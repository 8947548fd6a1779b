import { createHash, generateKeyPairSync, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import {
  DisabledException,
  GetPublicKeyCommand,
  KMSClient,
  KMSInternalException,
  KMSServiceException,
  KeyUnavailableException,
  NotFoundException,
  SignCommand,
  type GetPublicKeyCommandOutput,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { compactVerify, decodeProtectedHeader, importJWK } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AwsServiceUnavailableError,
  ConfigurationError,
  SignatureFormatError,
  SigningKeyError,
} from '../../../../functions/adapters/aws/errors';
import { KmsSigner, derToJoseSignature } from '../../../../functions/adapters/aws/kms-signer';
import { CHECKPOINT_JWS_TYPE, RECEIPT_JWS_TYPE } from '../../../../functions/domain/checkpoints';
import { derInteger, derSignature, signDigestDer } from '../../../../infra/local/aws/p256-digest-signer';

const kms = mockClient(KMSClient);
const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const meta = { $metadata: {} };

const newSigner = () => new KmsSigner({ client: new KMSClient({ region: 'eu-west-1' }), keyId: KEY_ARN, typ: RECEIPT_JWS_TYPE });
const hex32 = (value: bigint) => value.toString(16).padStart(64, '0');

/** A fresh P-256 key pair, and a mocked KMS that really signs digests with it. */
function fakeKms(publicKeyOverrides: Partial<GetPublicKeyCommandOutput> = {}) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  kms.on(SignCommand).callsFake((input: { Message: Uint8Array }) => ({
    KeyId: KEY_ARN,
    SigningAlgorithm: 'ECDSA_SHA_256',
    Signature: signDigestDer(privateKey, input.Message),
  }));
  const publicKeyOutput: Partial<GetPublicKeyCommandOutput> = {
    KeyId: KEY_ARN,
    KeySpec: 'ECC_NIST_P256',
    KeyUsage: 'SIGN_VERIFY',
    SigningAlgorithms: ['ECDSA_SHA_256'],
    PublicKey: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })),
    ...publicKeyOverrides,
  };
  kms.on(GetPublicKeyCommand).resolves(publicKeyOutput);
  return { privateKey, publicKey, publicKeyOutput };
}

afterEach(() => {
  kms.reset();
});

describe('derToJoseSignature', () => {
  it('turns every signature node:crypto writes as DER into the R‖S form node:crypto verifies', () => {
    // Prepare
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (message) => {
        // Act
        const raw = derToJoseSignature(nodeSign('sha256', message, { key: privateKey, dsaEncoding: 'der' }));

        // Assess
        expect(raw).toHaveLength(64);
        expect(nodeVerify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps R and S as 32-byte big-endian integers whatever their DER length', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: N - 1n }), fc.bigInt({ min: 1n, max: N - 1n }), (r, s) => {
        // Act
        const raw = derToJoseSignature(derSignature(r, s));

        // Assess
        expect(Buffer.from(raw).toString('hex')).toBe(hex32(r) + hex32(s));
      }),
    );
  });

  it.each([
    { name: 'R with its high bit set (DER adds a 0x00)', r: 0x80n << 248n, s: 5n },
    { name: 'S with its high bit set (DER adds a 0x00)', r: 7n, s: N - 1n },
    { name: 'both with the high bit set (a 72-byte DER signature)', r: N - 2n, s: N - 3n },
    { name: 'R one byte short (a leading zero byte dropped)', r: 0x7fn << 240n, s: 0x42n << 248n },
    { name: 'S a single byte', r: 0x1234n << 200n, s: 1n },
  ])('converts $name', ({ r, s }) => {
    // Prepare
    const der = derSignature(r, s);

    // Act
    const raw = derToJoseSignature(der);

    // Assess
    expect(Buffer.from(raw).toString('hex')).toBe(hex32(r) + hex32(s));
  });

  it('accepts a redundant leading zero on an integer', () => {
    // Prepare: r = 0x00 0x00 0x01 (not minimal, but the value is clear)
    const body = Buffer.concat([Buffer.from([0x02, 0x03, 0x00, 0x00, 0x01]), derInteger(2n)]);
    const der = Buffer.concat([Buffer.from([0x30, body.length]), body]);

    // Act
    const raw = derToJoseSignature(der);

    // Assess
    expect(Buffer.from(raw).toString('hex')).toBe(hex32(1n) + hex32(2n));
  });

  const valid = derSignature(N - 2n, 3n);
  it.each([
    { name: 'an empty buffer', der: Buffer.alloc(0) },
    { name: 'not a SEQUENCE', der: Buffer.concat([Buffer.from([0x31]), valid.subarray(1)]) },
    { name: 'a truncated signature', der: valid.subarray(0, valid.length - 1) },
    { name: 'trailing bytes after the SEQUENCE', der: Buffer.concat([valid, Buffer.from([0])]) },
    { name: 'a SEQUENCE with one integer', der: Buffer.concat([Buffer.from([0x30, 3]), derInteger(1n)]) },
    { name: 'a SEQUENCE with three integers', der: (() => { const b = Buffer.concat([derInteger(1n), derInteger(2n), derInteger(3n)]); return Buffer.concat([Buffer.from([0x30, b.length]), b]); })() },
    { name: 'an OCTET STRING instead of an integer', der: Buffer.from([0x30, 0x06, 0x04, 0x01, 0x01, 0x02, 0x01, 0x01]) },
    { name: 'an empty integer', der: Buffer.from([0x30, 0x05, 0x02, 0x00, 0x02, 0x01, 0x01]) },
    { name: 'a negative integer', der: Buffer.from([0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01]) },
    { name: 'an integer too large for P-256 (33 significant bytes)', der: derSignature(1n << 264n, 1n) },
    { name: 'a non-minimal long-form length', der: Buffer.concat([Buffer.from([0x30, 0x81, valid.length - 2]), valid.subarray(2)]) },
  ])('refuses $name', ({ der }) => {
    expect(() => derToJoseSignature(der)).toThrow(SignatureFormatError);
  });

  it('reads a long-form SEQUENCE length (P-521 sized integers)', () => {
    // Prepare: two 66-byte integers need a 0x81 length
    const r = (1n << 520n) + 5n;
    const sValue = (1n << 519n) + 9n;
    const der = derSignature(r, sValue);
    const body = der.subarray(2);
    const longForm = Buffer.concat([Buffer.from([0x30, 0x81, body.length]), body]);

    // Act
    const raw = derToJoseSignature(longForm, 66);

    // Assess
    expect(Buffer.from(raw).toString('hex')).toBe(r.toString(16).padStart(132, '0') + sValue.toString(16).padStart(132, '0'));
  });
});

describe('KmsSigner', () => {
  it('refuses an empty key id at construction', () => {
    expect(() => new KmsSigner({ client: new KMSClient({}), keyId: '', typ: RECEIPT_JWS_TYPE })).toThrow(ConfigurationError);
  });

  it('refuses to be built without the JWS typ of what it signs', () => {
    expect(() => new KmsSigner({ client: new KMSClient({}), keyId: KEY_ARN, typ: ' ' })).toThrow(ConfigurationError);
  });

  it('states the kind of object it signs in the protected header, checkpoint or receipt', async () => {
    fakeKms();
    const checkpoints = new KmsSigner({ client: new KMSClient({ region: 'eu-west-1' }), keyId: KEY_ARN, typ: CHECKPOINT_JWS_TYPE });
    expect(decodeProtectedHeader(await checkpoints.sign({ at: 'x' }))).toEqual({ alg: 'ES256', kid: KEY_ARN, typ: 'audit-checkpoint+jws' });
    expect(decodeProtectedHeader(await newSigner().sign({ at: 'x' }))).toEqual({ alg: 'ES256', kid: KEY_ARN, typ: 'erasure-receipt+jws' });
  });

  it('signs a JWS that verifies with the JWK built from KMS’s public key (a real round trip)', async () => {
    // Prepare
    fakeKms();
    const signer = newSigner();
    const payload = { requestId: 'req-1', outcome: 'COMPLETED', n: 3, text: 'Ünïcödé ✓' };

    // Act
    const jws = await signer.sign(payload);
    const jwk = await signer.publicJwk();

    // Assess
    const { payload: verified, protectedHeader } = await compactVerify(jws, await importJWK(jwk, 'ES256'), { algorithms: ['ES256'] });
    expect(JSON.parse(new TextDecoder().decode(verified))).toEqual(payload);
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: KEY_ARN, typ: RECEIPT_JWS_TYPE });
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', kid: KEY_ARN, alg: 'ES256', use: 'sig' });
    expect(jwk).not.toHaveProperty('d');
  });

  it('asks KMS to sign the SHA-256 digest of the JWS signing input with ECDSA_SHA_256', async () => {
    // Prepare
    fakeKms();

    // Act
    const jws = await newSigner().sign({ a: 1 });

    // Assess
    const signingInput = jws.split('.').slice(0, 2).join('.');
    const input = kms.commandCalls(SignCommand)[0]!.args[0].input;
    expect(input).toEqual({
      KeyId: KEY_ARN,
      MessageType: 'DIGEST',
      SigningAlgorithm: 'ECDSA_SHA_256',
      Message: createHash('sha256').update(signingInput).digest(),
    });
    expect(decodeProtectedHeader(jws)).toEqual({ alg: 'ES256', kid: KEY_ARN, typ: RECEIPT_JWS_TYPE });
  });

  it('gives signatures that each verify with the key pair’s own public key', async () => {
    // Prepare
    const { publicKey } = fakeKms();
    const signer = newSigner();

    for (let i = 0; i < 12; i++) {
      // Act
      const jws = await signer.sign({ i });

      // Assess
      await expect(compactVerify(jws, publicKey as KeyObject, { algorithms: ['ES256'] })).resolves.toBeDefined();
    }
  });

  it('fetches the public key once and serves it from memory afterwards', async () => {
    // Prepare
    fakeKms();
    const signer = newSigner();

    // Act
    const [first, second] = await Promise.all([signer.publicJwk(), signer.publicJwk()]);
    const third = await signer.publicJwk();

    // Assess
    expect(second).toEqual(first);
    expect(third).toEqual(first);
    expect(kms.commandCalls(GetPublicKeyCommand)).toHaveLength(1);
    expect(kms.commandCalls(GetPublicKeyCommand)[0]!.args[0].input).toEqual({ KeyId: KEY_ARN });
  });

  it('tries KMS again after a failed public key fetch', async () => {
    // Prepare
    const { publicKeyOutput } = fakeKms();
    kms.on(GetPublicKeyCommand).rejectsOnce(new KMSInternalException({ message: 'busy', ...meta })).resolves(publicKeyOutput);
    const signer = newSigner();

    // Act
    const first = signer.publicJwk();
    await expect(first).rejects.toThrow(AwsServiceUnavailableError);
    const second = await signer.publicJwk();

    // Assess
    expect(second).toMatchObject({ kty: 'EC', crv: 'P-256' });
    expect(kms.commandCalls(GetPublicKeyCommand)).toHaveLength(2);
  });

  it.each([
    { name: 'a P-384 key', overrides: { KeySpec: 'ECC_NIST_P384' } },
    { name: 'an encryption key', overrides: { KeyUsage: 'ENCRYPT_DECRYPT' } },
    { name: 'a key without ECDSA_SHA_256', overrides: { SigningAlgorithms: ['ECDSA_SHA_384'] } },
    { name: 'a missing public key', overrides: { PublicKey: undefined } },
    { name: 'bytes that are not SPKI DER', overrides: { PublicKey: new Uint8Array([1, 2, 3]) } },
    {
      name: 'an RSA public key labelled P-256',
      overrides: { PublicKey: new Uint8Array(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'der', type: 'spki' })) },
    },
  ] as { name: string; overrides: Partial<GetPublicKeyCommandOutput> }[])('refuses $name as the signing key', async ({ overrides }) => {
    // Prepare
    fakeKms(overrides);

    // Act
    const outcome = newSigner().publicJwk();

    // Assess
    await expect(outcome).rejects.toThrow(SigningKeyError);
  });

  it.each([
    { code: 'DisabledException', sdk: () => new DisabledException({ message: 'disabled', ...meta }), expected: SigningKeyError },
    { code: 'NotFoundException', sdk: () => new NotFoundException({ message: 'no such key', ...meta }), expected: SigningKeyError },
    { code: 'AccessDeniedException', sdk: () => new KMSServiceException({ name: 'AccessDeniedException', $fault: 'client', message: 'denied', ...meta }), expected: SigningKeyError },
    { code: 'KMSInternalException', sdk: () => new KMSInternalException({ message: 'internal', ...meta }), expected: AwsServiceUnavailableError },
    { code: 'KeyUnavailableException', sdk: () => new KeyUnavailableException({ message: 'unavailable', ...meta }), expected: AwsServiceUnavailableError },
    { code: 'ThrottlingException', sdk: () => new KMSServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'slow down', ...meta }), expected: AwsServiceUnavailableError },
  ])('translates a failed Sign ($code) into $expected.name', async ({ sdk, expected }) => {
    // Prepare
    kms.on(SignCommand).rejects(sdk());

    // Act
    const outcome = newSigner().sign({ a: 1 });

    // Assess
    await expect(outcome).rejects.toThrow(expected);
  });

  it.each([
    { name: 'no signature', output: {} },
    { name: 'a signature that is not DER', output: { Signature: new Uint8Array(64).fill(7) } },
    { name: 'a P-384 sized signature', output: { Signature: derSignature((1n << 380n) + 1n, 5n) } },
  ])('throws SignatureFormatError when KMS returns $name', async ({ output }) => {
    // Prepare
    kms.on(SignCommand).resolves(output);

    // Act
    const outcome = newSigner().sign({ a: 1 });

    // Assess
    await expect(outcome).rejects.toThrow(SignatureFormatError);
  });
});
