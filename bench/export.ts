/**
 * 7. Export: the CSV export of 100,000 records (quick: 10,000) through the audit export
 *    (`exportRequests`, what `GET /audit/export?format=csv` streams) against a bare paginated
 *    DynamoDB Query (1 MB pages) of the same items on the same `byStatus` index, same client,
 *    same dynalite. Memory: the peak heap growth while exporting all records against exporting a
 *    tenth of them (flat memory → ratio near 1), and the peak RSS growth.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { BatchWriteCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoAuditStore } from '../functions/adapters/dynamo/audit-store';
import { BY_STATUS_INDEX, BY_STATUS_PARTITION_KEY } from '../functions/adapters/dynamo/table-schema';
import { REQUEST_STATUSES, type ErasureRequest } from '../functions/domain/model';
import { systemClock } from '../functions/domain/ports';
import { exportRequests } from '../functions/staff/export-requests';
import { ensureAuditTable, startLocalDynamo } from '../infra/local/local-dynamo';
import { row, type BenchContext, type Row } from './lib';

const TABLE = 'bench';

/** N completed or rejected requests, as the store writes their META items, received over 2026. */
async function seed(client: DynamoDBDocumentClient, n: number): Promise<void> {
  const start = Date.parse('2026-01-01T00:00:00Z');
  const items = function* () {
    for (let i = 0; i < n; i++) {
      const receivedAt = new Date(start + Math.floor((i / n) * 300 * 86_400_000)).toISOString();
      const requestId = randomUUID();
      const rejected = i % 10 === 0;
      const r: ErasureRequest = {
        requestId,
        status: rejected ? 'REJECTED' : 'COMPLETED',
        channel: 'web',
        subjectHash: randomBytes(32).toString('hex'),
        subjectKind: 'email',
        scope: { botIds: [] },
        scopeKey: '*',
        receivedAt,
        dueAt: new Date(Date.parse(receivedAt) + 30 * 86_400_000).toISOString(),
        attempt: 1,
        ...(rejected ? { rejection: { rule: 'CO_DEVELOPER' as never, botIds: ['st-7a1c2e4b-3d5f-4a6b-8c9d-0e1f2a3b4c5d'], source: 'snapshot' as const } } : { koreRequestId: `eud-${i}`, completedAt: new Date(Date.parse(receivedAt) + 3_600_000).toISOString() }),
        updatedAt: receivedAt,
        lastSeq: 9,
        lastHash: randomBytes(32).toString('hex'),
      };
      yield { ...r, pk: `REQ#${requestId}`, sk: 'META', listKey: `${receivedAt}#${requestId}` };
    }
  };
  const it = items();
  const worker = async () => {
    for (;;) {
      const batch: Record<string, unknown>[] = [];
      for (let next = it.next(); !next.done; next = it.next()) {
        batch.push(next.value);
        if (batch.length === 25) break;
      }
      if (batch.length === 0) return;
      let pending: unknown[] = batch.map((Item) => ({ PutRequest: { Item } }));
      while (pending.length > 0) {
        const out = await client.send(new BatchWriteCommand({ RequestItems: { [TABLE]: pending as never } }));
        pending = out.UnprocessedItems?.[TABLE] ?? [];
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/** Runs `work` while sampling memory every 10 ms; returns its time and the peak growth. */
async function measured<T>(work: () => Promise<T>): Promise<{ ms: number; heapMb: number; rssMb: number; result: T }> {
  global.gc?.();
  const before = process.memoryUsage();
  let heap = before.heapUsed;
  let rss = before.rss;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    heap = Math.max(heap, m.heapUsed);
    rss = Math.max(rss, m.rss);
  }, 10);
  const t0 = performance.now();
  const result = await work();
  const ms = performance.now() - t0;
  clearInterval(timer);
  const m = process.memoryUsage();
  heap = Math.max(heap, m.heapUsed);
  rss = Math.max(rss, m.rss);
  return { ms, heapMb: (heap - before.heapUsed) / 2 ** 20, rssMb: (rss - before.rss) / 2 ** 20, result };
}

export async function exportBench(ctx: BenchContext): Promise<Row[]> {
  const n = ctx.quick ? 1_000 : 100_000;
  const dynamo = await startLocalDynamo();
  try {
    await ensureAuditTable(dynamo.client, TABLE);
    const t0 = performance.now();
    await seed(dynamo.client, n);
    ctx.log(`  seeded ${n} records in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const deps = { store: new DynamoAuditStore({ client: dynamo.client, tableName: TABLE }), clock: systemClock, subjectHashKey: 'bench' };

    const exportAll = (to?: string) =>
      measured(async () => {
        let bytes = 0;
        let rows = -1;
        for await (const chunk of exportRequests(deps, { ...(to ? { to } : {}) }, 'csv')) {
          bytes += chunk.length;
          for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n', i + 1)) rows++;
        }
        return { bytes, rows };
      });
    const queryAll = () =>
      measured(async () => {
        let items = 0;
        for (const status of REQUEST_STATUSES) {
          let startKey: Record<string, unknown> | undefined;
          do {
            const out = await dynamo.client.send(
              new QueryCommand({
                TableName: TABLE,
                IndexName: BY_STATUS_INDEX,
                KeyConditionExpression: '#s = :s',
                ExpressionAttributeNames: { '#s': BY_STATUS_PARTITION_KEY },
                ExpressionAttributeValues: { ':s': status },
                ExclusiveStartKey: startKey,
              }),
            );
            items += out.Items?.length ?? 0;
            startKey = out.LastEvaluatedKey;
          } while (startKey);
        }
        return items;
      });

    await queryAll(); // warm-up: both read the same index afterwards
    const bare = await queryAll();
    const full = await exportAll();
    ctx.log(`  bare Query: ${bare.result} items in ${bare.ms.toFixed(0)} ms; export: ${full.result.rows} rows, ${(full.result.bytes / 2 ** 20).toFixed(1)} MB in ${full.ms.toFixed(0)} ms`);
    ctx.log(`  peak heap growth: export ${full.heapMb.toFixed(1)} MB, bare Query ${bare.heapMb.toFixed(1)} MB; peak RSS growth: export ${full.rssMb.toFixed(1)} MB, bare Query ${bare.rssMb.toFixed(1)} MB`);
    if (full.result.rows !== bare.result) ctx.log(`  WARNING: the export wrote ${full.result.rows} rows for ${bare.result} items`);
    const k = `${n / 1000}k`;
    return [
      row(`export CSV ${k} records vs bare paginated Query`, full.ms / 1000, bare.ms / 1000, 's', '≤ 1.3'),
      row(`export CSV peak heap growth (garbage included) vs bare Query, ${k} records`, full.heapMb, bare.heapMb, 'MB'),
      row(`export CSV peak RSS growth vs bare Query, ${k} records`, full.rssMb, bare.rssMb, 'MB'),
    ];
  } finally {
    await dynamo.stop();
  }
}
