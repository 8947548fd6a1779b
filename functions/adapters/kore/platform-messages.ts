/**
 * Reading what the platform says beside its data: the `Retry-After` of a refusal, the platform's
 * own explanation in an error answer (whose shape is not documented), and that explanation made
 * fit for the audit trail (no email or id it may have echoed).
 */

/**
 * `Retry-After` as milliseconds from `now`: delta-seconds or an HTTP-date (a date in the past
 * gives 0). Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at) || !/[a-z]/i.test(trimmed)) return undefined;
  return Math.max(0, at - now.getTime());
}

/**
 * The platform's own explanation in an error answer, wherever it put it: `errors[].msg`,
 * `errors[].message`, `message`, `msg`, `error` (a string or `{message}`), or a plain-text
 * body. Undefined when there is none. The shape of error answers is not documented.
 */
export function platformMessageOf(text: string): string | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    const plain = text.trim();
    return plain === '' || plain.startsWith('<') ? undefined : plain.slice(0, 500);
  }
  const texts: string[] = [];
  const take = (value: unknown) => {
    if (typeof value === 'string' && value.trim() !== '') texts.push(value.trim());
    else if (value && typeof value === 'object' && !Array.isArray(value)) {
      const o = value as Record<string, unknown>;
      for (const key of ['msg', 'message', 'error', 'errorMessage', 'description']) if (typeof o[key] === 'string') return take(o[key]);
      if (o.error && typeof o.error === 'object') take(o.error);
    }
  };
  if (json && typeof json === 'object') {
    const o = json as Record<string, unknown>;
    if (Array.isArray(o.errors)) o.errors.slice(0, 5).forEach(take);
    else take(o);
  } else take(json);
  return texts.length === 0 ? undefined : texts.join('; ').slice(0, 500);
}

/**
 * A platform message made fit for the audit trail: emails, anything shaped like an id
 * (`u-…`, `st-…`, `cs-…`, uuids, long hex or digit runs) and quoted values are replaced, so the
 * message can be kept without the personal data the platform may have echoed.
 */
export function sanitisePlatformMessage(message: string): string {
  return message
    .replace(/[^\s"'<>(),;]+@[^\s"'<>(),;]+/g, '<email>')
    .replace(/(["`])(?:(?!\1).){1,200}\1/g, '<value>')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<id>')
    .replace(/\b[a-z]{1,4}-(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{4,}\b/g, '<id>')
    .replace(/\b(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{12,}\b/g, '<id>')
    .replace(/\d{4,}/g, '<n>')
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .slice(0, 300);
}
