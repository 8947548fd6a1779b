/**
 * Finding personal data in captured log output: subject emails (whole, or their local part),
 * enterprise ids, and tokens (bearer tokens, link tokens, status tokens — matched by their
 * signature part so a truncated token still counts).
 */
export interface Secrets {
  emails?: readonly string[];
  enterpriseIds?: readonly string[];
  /** Whole tokens or URLs carrying a `token=` parameter. */
  tokens?: readonly string[];
}

/** The kinds of secret found in `text` (empty when it is clean), e.g. `email:alice@…`. */
export function personalDataIn(text: string, secrets: Secrets): string[] {
  const haystack = text.toLowerCase();
  const found: string[] = [];
  for (const email of secrets.emails ?? []) {
    const local = email.toLowerCase().split('@')[0]!;
    if (haystack.includes(email.toLowerCase()) || (local.length >= 8 && haystack.includes(local))) found.push(`email:${email.slice(0, 3)}…`);
  }
  for (const id of secrets.enterpriseIds ?? []) if (haystack.includes(id.toLowerCase())) found.push(`enterprise-id:${id.slice(0, 3)}…`);
  for (const token of secrets.tokens ?? []) {
    const value = token.includes('token=') ? decodeURIComponent(token.slice(token.indexOf('token=') + 6)) : token;
    // The last 24 characters of a token (its signature) are enough to tell it leaked.
    const tail = value.slice(-24).toLowerCase();
    if (tail.length >= 16 && haystack.includes(tail)) found.push(`token:${value.slice(0, 4)}…`);
  }
  return found;
}
