/**
 * The local runtime's index repair after a crash. dynalite writes an item's index entries and the
 * item as separate LevelDB writes; the crash soak killed the runtime in between and left a
 * request listed as RECEIVED whose item did not exist (every sweep then failed on it). Here the
 * three shapes such a cut can leave are written into dynalite's files directly, and `healIndexes`
 * must mend each through the API and then find nothing more to do.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoAuditStore } from '../../../functions/adapters/dynamo/audit-store';
import { ensureAuditTable, healIndexes, startLocalDynamo } from '../../../infra/local/local-dynamo';
import { newRequest, receivedEvent, transition } from './fixtures';

const TABLE = 'erasure-desk-audit';
const dir = mkdtempSync(join(tmpdir(), 'erasure-desk-index-healing-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Typed = Record<string, { S?: string; N?: string }>;

/** Edits dynalite's LevelDB while no server has it open: `edit` returns the new value, or null to delete. */
async function editLevel(edit: (key: string, value: Typed) => Typed | null | undefined): Promise<void> {
  const db = new ClassicLevel<string, Typed>(dir, { valueEncoding: 'json' });
  try {
    for await (const [key, value] of db.iterator()) {
      const next = edit(key, value);
      if (next === null) await db.del(key);
      else if (next) await db.put(key, next);
    }
  } finally {
    await db.close();
  }
}

const isMeta = (value: Typed, requestId: string) => value.pk?.S === `REQ#${requestId}` && value.sk?.S === 'META';

describe('healIndexes (local dynalite after a crash)', () => {
  it('drops orphaned entries, moves stale ones, restores missing ones, and is then a no-op', async () => {
    const orphan = newRequest();
    const stale = newRequest();
    const unlisted = newRequest();
    let dynamo = await startLocalDynamo({ path: dir });
    await ensureAuditTable(dynamo.client, TABLE);
    let store = new DynamoAuditStore({ client: dynamo.client, tableName: TABLE });
    for (const r of [orphan, stale, unlisted]) await store.createRequest(r, receivedEvent(r));
    await store.appendEvent(stale.requestId, transition('AWAITING_VERIFICATION'));
    await dynamo.stop();

    await editLevel((key, value) => {
      // Killed after the index puts of a new META, before the item: an entry without its item.
      if (key.startsWith(`item-${TABLE}~`) && isMeta(value, orphan.requestId)) return null;
      // Killed after moving the entry to the new status, before the item: the item is still RECEIVED.
      if (key.startsWith(`item-${TABLE}~`) && isMeta(value, stale.requestId)) return { ...value, status: { S: 'RECEIVED' } };
      // Killed after deleting the old entry, before putting the new one: the item is not listed.
      if (key.startsWith(`index-global~${TABLE}~byStatus~`) && isMeta(value, unlisted.requestId)) return null;
      return undefined;
    });

    dynamo = await startLocalDynamo({ path: dir });
    store = new DynamoAuditStore({ client: dynamo.client, tableName: TABLE });
    const listed = async (status: 'RECEIVED' | 'AWAITING_VERIFICATION') => (await store.listByStatus({ status })).items.map((r) => r.requestId).sort();
    try {
      // The damage as a reader meets it.
      expect(await listed('RECEIVED')).toEqual([orphan.requestId]);
      expect(await listed('AWAITING_VERIFICATION')).toEqual([stale.requestId]);
      expect(await store.getRequest(orphan.requestId)).toBeUndefined();

      // The orphan is in both indexes; the stale entry only in byStatus; the unlisted one misses byStatus.
      expect(await healIndexes(dynamo.client, TABLE)).toEqual({ orphaned: 2, stale: 1, missing: 1 });

      expect(await listed('RECEIVED')).toEqual([stale.requestId, unlisted.requestId].sort());
      expect(await listed('AWAITING_VERIFICATION')).toEqual([]);
      expect(await store.findBySubjectHash(orphan.subjectHash)).toEqual([]);
      expect(await store.getRequest(stale.requestId)).toMatchObject({ status: 'RECEIVED' });
      expect(await healIndexes(dynamo.client, TABLE)).toEqual({ orphaned: 0, stale: 0, missing: 0 });
    } finally {
      await dynamo.stop();
    }
  });
});
