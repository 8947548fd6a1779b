/**
 * Compact JWS (ES256) signed by an AWS KMS key: the `Signer` port in AWS. The private key never
 * leaves KMS; auditors verify receipts and checkpoints with the public key published as a JWK.
 *
 * KMS signs the SHA-256 digest of the JWS signing input (`MessageType: 'DIGEST'`, so any payload
 * size works) and answers with a DER-encoded ECDSA signature; JWS wants the raw 64-byte `R ‖ S`
 * (RFC 7518 §3.4), hence `derToJoseSignature`.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { GetPublicKeyCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { Signer } from '../../domain/ports';
import { ConfigurationError, SignatureFormatError, SigningKeyError, awsCall, awsErrorName } from './errors';

export interface KmsSignerOptions {
  /** Created once per container by the caller. */
  client: KMSClient;
  /**
   * The key (id, ARN or alias) of an asymmetric `ECC_NIST_P256` key with usage `SIGN_VERIFY`. It is
   * also the JWS `kid`, so prefer a key ARN or id that stays the same for the key's lifetime.
   */
  keyId: string;
  /** The JWS `typ` of what this key signs (`erasure-receipt+jws` or `audit-checkpoint+jws`). */
  typ: string;
}

/** The ES256 size of each of R and S, in bytes. */
const P256_INTEGER_SIZE = 32;

/** KMS errors that say the key cannot sign for us (as opposed to KMS being busy). */
const KEY_ERRORS = new Set([
  'NotFoundException',
  'DisabledException',
  'KMSInvalidStateException',
  'InvalidKeyUsageException',
  'InvalidGrantTokenException',
  'AccessDeniedException',
  'IncorrectKeyException',
  'UnsupportedOperationException',
]);

function translateKeyError(error: unknown): Error | undefined {
  const name = awsErrorName(error);
  return KEY_ERRORS.has(name) ? new SigningKeyError(`The KMS signing key cannot be used (${name})`, { cause: error }) : undefined;
}

/** Reads one DER length at `at`; returns the length and where the content starts. */
function readLength(der: Uint8Array, at: number): { length: number; start: number } {
  const first = der[at];
  if (first === undefined) throw new SignatureFormatError('The DER signature is truncated');
  if (first < 0x80) return { length: first, start: at + 1 };
  // Long form: only one length byte makes sense for ECDSA signatures (< 256 bytes), and DER
  // requires the short form below 128.
  const second = der[at + 1];
  if (first !== 0x81 || second === undefined || second < 0x80) throw new SignatureFormatError('The DER signature has an unsupported length');
  return { length: second, start: at + 2 };
}

/** Reads one positive INTEGER at `at` into `out` (left-padded to `size` bytes); returns where it ends. */
function readInteger(der: Uint8Array, at: number, size: number, out: Uint8Array, offset: number): number {
  if (der[at] !== 0x02) throw new SignatureFormatError('The DER signature does not hold two integers');
  const { length, start } = readLength(der, at + 1);
  const end = start + length;
  if (length === 0 || end > der.length) throw new SignatureFormatError('The DER signature is truncated');
  if (der[start]! & 0x80) throw new SignatureFormatError('The DER signature holds a negative integer');
  let first = start;
  while (first < end - 1 && der[first] === 0) first++;
  const bytes = der.subarray(first, end);
  if (bytes.length > size) throw new SignatureFormatError('The DER signature holds an integer too large for the curve');
  out.set(bytes, offset + size - bytes.length);
  return end;
}

/**
 * Converts a DER `ECDSA-Sig-Value` (`SEQUENCE { r INTEGER, s INTEGER }`) into the JOSE form: R and
 * S as unsigned big-endian integers, each left-padded with zeros to `size` bytes (32 for ES256).
 * Handles the `0x00` DER adds before an integer whose high bit is set and integers shorter than
 * `size` (about one signature in 256 has a leading zero byte).
 * @throws SignatureFormatError when `der` is not exactly one such SEQUENCE with integers that fit.
 */
export function derToJoseSignature(der: Uint8Array, size = P256_INTEGER_SIZE): Uint8Array {
  if (der[0] !== 0x30) throw new SignatureFormatError('The DER signature is not a SEQUENCE');
  const { length, start } = readLength(der, 1);
  if (start + length !== der.length) throw new SignatureFormatError('The DER signature length does not match its content');
  const raw = new Uint8Array(2 * size);
  const afterR = readInteger(der, start, size, raw, 0);
  const afterS = readInteger(der, afterR, size, raw, size);
  if (afterS !== der.length) throw new SignatureFormatError('The DER signature has trailing bytes');
  return raw;
}

function base64url(bytes: Uint8Array | string): string {
  return Buffer.from(bytes).toString('base64url');
}

export class KmsSigner implements Signer {
  readonly keyId: string;
  readonly alg = 'ES256' as const;
  readonly typ: string;
  private readonly client: KMSClient;
  private jwk: Promise<Record<string, unknown>> | undefined;

  /** @throws ConfigurationError when the key id or the JWS typ is empty. */
  constructor(options: KmsSignerOptions) {
    if (!options.keyId.trim()) throw new ConfigurationError('The KMS signing key id is empty');
    if (!options.typ.trim()) throw new ConfigurationError('The JWS typ of the KMS signer is empty');
    this.client = options.client;
    this.keyId = options.keyId;
    this.typ = options.typ;
  }

  /**
   * Signs `payload` as a compact JWS with protected header `{ alg: 'ES256', kid, typ }`.
   * @throws SigningKeyError when the key is missing, disabled or may not sign; SignatureFormatError
   *   when KMS's answer is not an ES256 signature (e.g. the key is not P-256);
   *   AwsServiceUnavailableError (throttled, KMS busy) or AwsServiceError otherwise.
   */
  async sign(payload: Record<string, unknown>): Promise<string> {
    const signingInput = `${base64url(JSON.stringify({ alg: this.alg, kid: this.keyId, typ: this.typ }))}.${base64url(JSON.stringify(payload))}`;
    const digest = createHash('sha256').update(signingInput, 'utf8').digest();
    const out = await awsCall(
      'KMS',
      'Sign',
      () =>
        this.client.send(
          new SignCommand({ KeyId: this.keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }),
        ),
      translateKeyError,
    );
    if (!out.Signature) throw new SignatureFormatError('KMS returned no signature');
    return `${signingInput}.${base64url(derToJoseSignature(out.Signature))}`;
  }

  /**
   * The public key as a JWK (`kty`, `crv`, `x`, `y`, plus `kid`, `alg`, `use`), fetched once and
   * kept for the container's life (a KMS key's public key never changes). A failed fetch is not
   * kept, so the next call tries again.
   * @throws SigningKeyError when the key is not an ECC_NIST_P256 signing key or cannot be read;
   *   AwsServiceUnavailableError or AwsServiceError when KMS fails.
   */
  publicJwk(): Promise<Record<string, unknown>> {
    this.jwk ??= this.fetchPublicJwk().catch((error: unknown) => {
      this.jwk = undefined;
      throw error;
    });
    return this.jwk;
  }

  private async fetchPublicJwk(): Promise<Record<string, unknown>> {
    const out = await awsCall('KMS', 'GetPublicKey', () => this.client.send(new GetPublicKeyCommand({ KeyId: this.keyId })), translateKeyError);
    if (out.KeySpec !== 'ECC_NIST_P256') throw new SigningKeyError(`The KMS key is ${out.KeySpec ?? 'of an unknown spec'}, not ECC_NIST_P256`);
    if (out.KeyUsage !== undefined && out.KeyUsage !== 'SIGN_VERIFY') throw new SigningKeyError(`The KMS key's usage is ${out.KeyUsage}, not SIGN_VERIFY`);
    if (out.SigningAlgorithms && !out.SigningAlgorithms.includes('ECDSA_SHA_256')) throw new SigningKeyError('The KMS key does not offer ECDSA_SHA_256');
    if (!out.PublicKey) throw new SigningKeyError('KMS returned no public key');
    let jwk: Record<string, unknown>;
    try {
      jwk = createPublicKey({ key: Buffer.from(out.PublicKey), format: 'der', type: 'spki' }).export({ format: 'jwk' }) as Record<string, unknown>;
    } catch (cause) {
      throw new SigningKeyError('KMS returned a public key that is not SPKI DER', { cause });
    }
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw new SigningKeyError('The KMS public key is not a P-256 key');
    return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid: this.keyId, alg: this.alg, use: 'sig' };
  }
}
