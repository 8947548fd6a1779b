/**
 * A server under load for the intake benchmarks, run as a child process so the load generator
 * (autocannon, in the parent) never shares its event loop:
 *
 * - `runtime [users]`: the real local runtime (`startLocalRuntime`, dynalite in memory, the
 *   simulator with the demo account or `users` generated users);
 * - `floor`: the floor handler — the same kind of `node:http` server and the same dynalite, that
 *   only parses the JSON body and does one PutItem.
 *
 * Prints one JSON line when ready, then answers JSON commands on stdin (one line each).
 *
 * The per-client-IP limit (30 per 10 min, `DEFAULT_LIMITS.perClient`) is keyed by the socket's
 * `remoteAddress`, and every load request comes from 127.0.0.1. The runtime has no option to
 * raise the limits, so here the runtime's server sees a distinct client address for every
 * request (`remoteAddress` is shadowed on the sockets of that server only). The limiter
 * still does its DynamoDB write for every request, exactly as in production; only the key differs.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Server, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { ensureAuditTable, startLocalDynamo } from '../infra/local/local-dynamo';
import { compressedRuntimeOptions, startLocalRuntime } from '../infra/local/runtime';
import { captureVerificationLinks, confirm } from './lib';
import { percentile } from './lib';

const [mode, usersArg] = process.argv.slice(2);
let distinctClientsOnPort = -1;
let clientCounter = 0;

// An own property on the socket shadows the prototype's (non-configurable) getter; it is set
// again for every request, so each request of a keep-alive connection is a new client.
const emit = Server.prototype.emit;
Server.prototype.emit = function (this: Server, event: string, ...args: unknown[]) {
  if (event === 'request' && distinctClientsOnPort > 0 && (this.address() as AddressInfo | null)?.port === distinctClientsOnPort) {
    clientCounter++;
    const address = `10.${(clientCounter >> 16) & 255}.${(clientCounter >> 8) & 255}.${clientCounter & 255}`;
    Object.defineProperty((args[0] as IncomingMessage).socket, 'remoteAddress', { value: address, configurable: true });
  }
  return emit.apply(this, [event, ...args] as Parameters<typeof emit>);
} as typeof Server.prototype.emit;

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'erasure-desk-bench-'));
  let stop: () => Promise<void>;
  let handle: (command: Record<string, unknown>) => Promise<unknown> = async () => ({ error: 'unknown command' });

  if (mode === 'floor') {
    const dynamo = await startLocalDynamo();
    const table = 'erasure-desk-audit';
    await ensureAuditTable(dynamo.client, table);
    const server = createServer(async (req, res) => {
      try {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { email?: string };
        const requestId = randomUUID();
        await dynamo.client.send(new PutCommand({ TableName: table, Item: { pk: `REQ#${requestId}`, sk: 'META', email: body.email ?? '', receivedAt: new Date().toISOString() } }));
        const out = JSON.stringify({ requestId, status: 'RECEIVED' });
        res.writeHead(202, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
        res.end(out);
      } catch {
        res.writeHead(500).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
    stop = async () => {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      await dynamo.stop();
    };
  } else {
    const users = usersArg ? Number(usersArg) : 0;
    const started = performance.now();
    const runtime = await startLocalRuntime(compressedRuntimeOptions(dataDir, { simulator: users > 0 ? { account: { generatedUsers: users } } : {} }));
    const startMs = performance.now() - started;
    distinctClientsOnPort = runtime.port;
    const links = captureVerificationLinks(runtime.mailer);
    handle = async (command) => {
      if (command.cmd === 'verify') {
        // Eligibility at the HTTP level: POST /verify (the confirmation) runs the owner/co-developer check (one
        // snapshot lookup), records the decision and queues the erasure.
        const n = Number(command.n);
        const addresses: string[] = [];
        for (let i = 0; i < n; i++) {
          const email = `verify-${randomUUID()}@example.com`;
          const res = await fetch(`${runtime.url}/requests`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'application/json' },
            body: JSON.stringify({ email }),
          });
          if (res.status !== 202) throw new Error(`submission answered ${res.status}`);
          await res.arrayBuffer();
          addresses.push(email);
        }
        const samples: number[] = [];
        for (const address of addresses) {
          const t0 = performance.now();
          const res = await confirm(links.get(address)!);
          await res.arrayBuffer();
          samples.push(performance.now() - t0);
          if (res.status !== 303) throw new Error(`verification answered ${res.status}`);
        }
        return { p50: percentile(samples, 50), p99: percentile(samples, 99), n };
      }
      return { error: 'unknown command' };
    };
    process.stdout.write(`${JSON.stringify({ url: runtime.url, startMs, snapshotUsers: users })}\n`);
    stop = async () => {
      await runtime.stop();
    };
  }

  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    void (async () => {
      let answer: unknown;
      try {
        answer = await handle(JSON.parse(line) as Record<string, unknown>);
      } catch (error) {
        answer = { error: error instanceof Error ? error.message : String(error) };
      }
      process.stdout.write(`${JSON.stringify(answer)}\n`);
    })();
  });
  process.on('SIGTERM', () => {
    void stop().finally(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
  });
}

void main();
