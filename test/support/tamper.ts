/**
 * Tampering with compact JWS/JWT in tests, done so that it really changes the signature bytes.
 */

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * The token with one signature character changed so that the signature bytes change: the last
 * base64url character of a signature also carries padding bits, so flipping it (e.g. B → A) can
 * leave the bytes — and the signature — valid. This flips the high bit of a character well
 * inside the signature.
 */
export function flipSignatureCharacter(token: string): string {
  const i = token.length - 10;
  const flipped = BASE64URL[BASE64URL.indexOf(token[i]!) ^ 0b100000]!;
  return token.slice(0, i) + flipped + token.slice(i + 1);
}
