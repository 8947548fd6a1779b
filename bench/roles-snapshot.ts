/**
 * 3. Roles snapshot: building and writing the privileged-identity snapshot of a 50,000-user
 *    account (`refreshRolesSnapshot`, the use case the schedule and `npm start` run) against the
 *    bare walk through the simulator's user-roles route with the same Kore.ai client.
 * 2b. Eligibility lookup (`getCurrentSnapshot` + `lookup`, what the intake does per subject)
 *    in the snapshot of the 10-user demo account against the one of the big account.
 */
import { randomBytes } from 'node:crypto';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoSnapshotStore } from '../functions/adapters/dynamo/snapshot-store';
import { pageUserRoles } from '../functions/domain/user-roles-pager';
import { KoreClient } from '../functions/adapters/kore/kore-client';
import { systemClock } from '../functions/domain/ports';
import { deriveKeys, hashSubject } from '../functions/domain/subject';
import { refreshRolesSnapshot } from '../functions/workflow/refresh-roles-snapshot';
import { DEV_KORE_CLIENT_ID, DEV_KORE_CLIENT_SECRET, startKoreSimulator } from '../infra/local/kore-sim';
import { ensureAuditTable, startLocalDynamo } from '../infra/local/local-dynamo';
import { median, row, type BenchContext, type Row } from './lib';

async function withAccount<T>(account: 'demo' | number, run: (kore: KoreClient, snapshots: DynamoSnapshotStore, client: DynamoDBDocumentClient) => Promise<T>): Promise<T> {
  // The walk as fast as it goes (the paced refresh is measured by the budget rows): no account limits.
  const sim = await startKoreSimulator({ rateLimits: false, ...(account === 'demo' ? {} : { account: { generatedUsers: account } }) });
  const dynamo = await startLocalDynamo();
  try {
    await ensureAuditTable(dynamo.client, 'bench');
    const kore = new KoreClient({ baseUrl: sim.url, clientId: DEV_KORE_CLIENT_ID, clientSecret: DEV_KORE_CLIENT_SECRET, timeoutMs: 10_000 });
    // No read cache: every lookup reads the current pointer, as a cold Lambda would.
    const snapshots = new DynamoSnapshotStore({ client: dynamo.client, tableName: 'bench', clock: systemClock, cacheTtlMs: 0 });
    return await run(kore, snapshots, dynamo.client);
  } finally {
    await sim.stop();
    await dynamo.stop();
  }
}

export async function rolesSnapshotBench(ctx: BenchContext): Promise<Row[]> {
  const users = ctx.quick ? 1_000 : 50_000;
  const lookups = ctx.quick ? 200 : 2_000;
  const keys = deriveKeys('bench-subject-secret');

  const lookupTimes = async (kore: KoreClient, snapshots: DynamoSnapshotStore): Promise<number> => {
    await refreshRolesSnapshot({ kore, snapshots, subjectKeys: keys, clock: systemClock });
    const samples: number[] = [];
    for (let i = 0; i < lookups; i++) {
      const hash = hashSubject(`someone-${randomBytes(6).toString('hex')}@example.com`, keys.hmacKey);
      const t0 = performance.now();
      const info = await snapshots.getCurrentSnapshot();
      await snapshots.lookup(info!, hash);
      samples.push(performance.now() - t0);
    }
    return median(samples);
  };

  const small = await withAccount('demo', lookupTimes);
  const result = await withAccount(users, async (kore, snapshots, client) => {
    const lookup = await lookupTimes(kore, snapshots); // also warms the simulator and the client
    let t0 = performance.now();
    let pages = 0;
    for await (const page of pageUserRoles(kore)) pages += page.users.length > 0 ? 1 : 0;
    const bare = performance.now() - t0;
    t0 = performance.now();
    const info = await refreshRolesSnapshot({ kore, snapshots, subjectKeys: keys, clock: systemClock });
    const full = performance.now() - t0;
    // What writing that many items costs by itself: the same BatchWrite shape, 25 a call, 8 at once.
    t0 = performance.now();
    let written = 0;
    const writer = async () => {
      while (written < info.identityCount) {
        const batch = Array.from({ length: Math.min(25, info.identityCount - written) }, (_, i) => ({
          PutRequest: { Item: { pk: `BARE#${written + i}`, sk: 'V#bench', accountOwner: false, accountMember: true, ownedBotIds: [], coDeveloperBotIds: [] } },
        }));
        written += batch.length;
        let pending: unknown[] = batch;
        while (pending.length > 0) pending = (await client.send(new BatchWriteCommand({ RequestItems: { bench: pending as never } }))).UnprocessedItems?.bench ?? [];
      }
    };
    await Promise.all(Array.from({ length: 8 }, writer));
    const bareWrite = performance.now() - t0;
    ctx.log(`  ${users} users, ${pages} pages: bare walk ${bare.toFixed(0)} ms, snapshot ${full.toFixed(0)} ms (${info.identityCount} privileged identities written); bare BatchWrite of as many items ${bareWrite.toFixed(0)} ms`);
    return { lookup, bare, full, bareWrite };
  });
  const k = `${users / 1000}k`;
  return [
    row(`roles snapshot build+write, ${k} users vs bare user-roles walk`, result.full / 1000, result.bare / 1000, 's', '≤ 1.2'),
    row(`roles snapshot build+write, ${k} users vs bare walk + bare BatchWrite of as many items`, result.full / 1000, (result.bare + result.bareWrite) / 1000, 's'),
    row(`eligibility lookup p50, ${k}-user vs 10-user snapshot`, result.lookup, small, 'ms', '≤ 1.1'),
  ];
}
