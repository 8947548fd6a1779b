/**
 * `npm run ops -- <command>`: on-call work from a terminal over the same HTTP API as the console.
 * Token from `ERASURE_DESK_TOKEN`, base URL from `ERASURE_DESK_URL` (default http://127.0.0.1:3000).
 *
 *   list [failed|timed-out|stuck|overdue|needs-review|data-found] [--json]  what needs attention (default: failed)
 *   requests [--status S] [--from D] [--to D] [--json] the audit list
 *   show <id> [--json]                                  a request, its timeline and chain check
 *   retry <id…> --reason R                              retry one or many
 *   retry --status failed|timed-out --reason R          retry by status (at most 100)
 *   cancel|recheck|extend|revoke-links <id> --reason R
 *   verify <id> --reason R                              read a COMPLETED erasure back from Kore.ai now
 *   refresh-roles [--reason R]
 *   export [--format csv|json] [--from D] [--to D]      to stdout
 *   report [--from D] [--to D]
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export interface CliIo {
  env: Record<string, string | undefined>;
  out: (text: string) => void;
  err: (text: string) => void;
  fetch: typeof fetch;
}

/** A failed call, carrying the problem's title and detail (never the token). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

const USAGE = `usage: npm run ops -- list [failed|timed-out|stuck|overdue|needs-review|data-found] | requests | show <id> | retry <id…>|--status S --reason R | cancel|recheck|extend|revoke-links|verify <id> --reason R | refresh-roles | export [--format csv|json] [--from D] [--to D] | report   (add --json for raw output)`;

/** Renders rows as an aligned text table. */
export function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cells = rows.map((r) => columns.map((c) => (r[c] === undefined || r[c] === null ? '' : String(r[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}

const LIST_COLUMNS = ['requestId', 'status', 'channel', 'receivedAt', 'dueAt', 'attempt', 'failureReason', 'needsReview'];

/**
 * Runs one command; resolves the exit code.
 * @throws nothing: failures are printed to `err` and turned into a non-zero code.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        reason: { type: 'string' },
        status: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        format: { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    io.err(`${error instanceof Error ? error.message : 'bad arguments'}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (!command || values.help) {
    io.out(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  const token = io.env.ERASURE_DESK_TOKEN;
  const baseUrl = (io.env.ERASURE_DESK_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
  if (!token) {
    io.err('Set ERASURE_DESK_TOKEN (locally: export ERASURE_DESK_TOKEN=$(npm run -s token -- ops)).\n');
    return 2;
  }

  const call = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> => {
    const response = await io.fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    if (!response.ok) {
      let message = `HTTP ${response.status}`;
      try {
        const p = (await response.json()) as { title?: string; detail?: string; errors?: { field: string; message: string }[] };
        message = `${p.title ?? message}${p.detail ? `: ${p.detail}` : ''}${p.errors ? ` (${p.errors.map((e) => `${e.field}: ${e.message}`).join('; ')})` : ''}`;
      } catch {
        // not a problem document; keep the status line
      }
      throw new CliError(message, response.status === 401 || response.status === 403 ? 3 : 1);
    }
    return response;
  };
  const json = async (method: 'GET' | 'POST', path: string, body?: unknown) => (await call(method, path, body)).json() as Promise<Record<string, unknown>>;
  const print = (data: unknown, render: () => string) => io.out(values.json ? `${JSON.stringify(data, null, 2)}\n` : render());
  const needReason = () => {
    if (!values.reason || values.reason.trim() === '') throw new CliError('--reason is required', 2);
    return values.reason;
  };
  const query = (params: Record<string, string | undefined>) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
    const s = q.toString();
    return s ? `?${s}` : '';
  };

  try {
    switch (command) {
      case 'list': {
        const kind = rest[0] ?? 'failed';
        const data = await json('GET', `/ops/requests${query({ status: kind, limit: values.limit })}`);
        print(data, () => table(data.items as Record<string, unknown>[], LIST_COLUMNS) + (data.cursor ? '(more: narrow the list or use --json for the cursor)\n' : ''));
        return 0;
      }
      case 'requests': {
        const data = await json('GET', `/audit/requests${query({ status: values.status, from: values.from, to: values.to, limit: values.limit })}`);
        print(data, () => table(data.items as Record<string, unknown>[], LIST_COLUMNS));
        return 0;
      }
      case 'show': {
        const id = rest[0];
        if (!id) throw new CliError('show needs a request id', 2);
        const data = await json('GET', `/audit/requests/${encodeURIComponent(id)}`);
        print(data, () => {
          const r = data.request as Record<string, unknown>;
          const chain = data.chain as { verdict: string; summary: string };
          const head = Object.entries(r)
            .filter(([, v]) => typeof v !== 'object')
            .map(([k, v]) => `${k.padEnd(14)} ${String(v)}`)
            .join('\n');
          // The verdict in words: a chain never compared with a checkpoint is not called ok.
          const chainLine = `chain          ${chain.verdict}: ${chain.summary}`;
          return `${head}\n${chainLine}\n\n${table(data.timeline as Record<string, unknown>[], ['seq', 'at', 'type', 'actor', 'attempt', 'status'])}`;
        });
        return 0;
      }
      case 'retry': {
        const reason = needReason();
        if (rest.length === 1 && !values.status) {
          const data = await json('POST', `/ops/requests/${encodeURIComponent(rest[0]!)}/retry`, { reason });
          const r = data.request as Record<string, unknown>;
          print(data, () => `${r.requestId}: ${r.status}, attempt ${r.attempt}${data.started ? '' : ' (workflow start pending)'}\n`);
          return 0;
        }
        if (rest.length === 0 && !values.status) throw new CliError('retry needs request ids or --status', 2);
        const body = rest.length > 0 ? { reason, ids: rest } : { reason, status: values.status, ...(values.limit ? { limit: Number(values.limit) } : {}) };
        const data = await json('POST', '/ops/retry', body);
        const outcomes = data.outcomes as Record<string, unknown>[];
        print(data, () => table(outcomes, ['requestId', 'outcome', 'status', 'attempt']));
        return outcomes.every((o) => o.outcome === 'retried') ? 0 : 1;
      }
      case 'cancel':
      case 'recheck':
      case 'extend':
      case 'revoke-links': {
        const id = rest[0];
        if (!id) throw new CliError(`${command} needs a request id`, 2);
        const data = await json('POST', `/ops/requests/${encodeURIComponent(id)}/${command}`, { reason: needReason() });
        const r = data.request as Record<string, unknown>;
        print(
          data,
          () =>
            `${r.requestId}: ${r.status}, due ${r.dueAt}${data.eligible === false ? ' (still not eligible)' : ''}${data.notified === false ? ' (subject NOT notified yet)' : ''}${data.revokedAt ? `, status links issued until ${String(data.revokedAt)} revoked` : ''}\n`,
        );
        return 0;
      }
      case 'verify': {
        const id = rest[0];
        if (!id) throw new CliError('verify needs a request id', 2);
        const data = await json('POST', `/ops/requests/${encodeURIComponent(id)}/verify`, { reason: needReason() });
        const r = data.request as Record<string, unknown>;
        print(data, () => `${r.requestId}: ${r.status}, read-back due ${String(data.readBackDueAt)} (the next verification run reads it back)
`);
        return 0;
      }
      case 'refresh-roles': {
        const data = await json('POST', '/ops/roles/refresh', values.reason ? { reason: values.reason } : {});
        const s = data.snapshot as Record<string, unknown>;
        print(data, () => `snapshot ${s.version} taken ${s.takenAt}: ${s.identityCount} privileged identities of ${s.userCount} users\n`);
        return 0;
      }
      case 'export': {
        const response = await call('GET', `/audit/export${query({ format: values.format ?? 'csv', from: values.from, to: values.to, status: values.status })}`);
        if (!response.body) return 0;
        const decoder = new TextDecoder();
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) io.out(decoder.decode(chunk, { stream: true }));
        io.out(decoder.decode());
        return 0;
      }
      case 'report': {
        const data = await json('GET', `/audit/report${query({ from: values.from, to: values.to })}`);
        io.out(`${JSON.stringify(data, null, 2)}\n`);
        return 0;
      }
      default:
        io.err(`unknown command ${command}\n${USAGE}\n`);
        return 2;
    }
  } catch (error) {
    if (error instanceof CliError) {
      io.err(`${error.message}\n`);
      return error.exitCode;
    }
    io.err(`${error instanceof Error ? `${error.name}: could not reach ${baseUrl}` : 'failed'}\n`);
    return 1;
  }
}

// Run when executed directly (tsx functions/cli/ops.ts …), not when imported by tests.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runCli(process.argv.slice(2), {
    env: process.env,
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    fetch: globalThis.fetch,
  }).then((code) => process.exit(code));
}
