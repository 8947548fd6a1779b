/**
 * No write of ours may replace an item it did not mean to: every PutItem and DeleteItem in the
 * code carries a ConditionExpression, and so does every UpdateItem except the rate-limit counter
 * (an atomic ADD on its own item kind). IAM cannot tell an event item from the META item of the
 * same request (they share the partition key), so this is where "events are never replaced or
 * updated" is enforced; test/integration/store/write-conditions.test.ts watches the same rule
 * on the commands the adapters really send.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourceFiles } from '../../../support/source-files';

const ROOT = join(import.meta.dirname, '..', '..', '..', '..');

/** The source text of each `new <Command>(…)` argument, found by matching parentheses. */
function commandArguments(command: string): Array<{ file: string; line: number; text: string }> {
  const found: Array<{ file: string; line: number; text: string }> = [];
  for (const file of sourceFiles(join(ROOT, 'functions'))) {
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(new RegExp(`new ${command}\\(`, 'g'))) {
      let depth = 0;
      let end = match.index! + match[0].length - 1;
      for (; end < source.length; end++) {
        if (source[end] === '(') depth++;
        else if (source[end] === ')' && --depth === 0) break;
      }
      found.push({ file: relative(ROOT, file), line: source.slice(0, match.index).split('\n').length, text: source.slice(match.index, end + 1) });
    }
  }
  return found;
}

const puts = commandArguments('PutCommand');
const deletes = commandArguments('DeleteCommand');
const updates = commandArguments('UpdateCommand');

describe('conditional writes', () => {
  it('finds the writes of every DynamoDB adapter', () => {
    expect(new Set(puts.map((p) => p.file))).toEqual(
      new Set([
        'functions/adapters/dynamo/audit-store.ts',
        'functions/adapters/dynamo/open-request-claims.ts',
        'functions/adapters/dynamo/refresh-cursor-store.ts',
        'functions/adapters/dynamo/session-revocations.ts',
        'functions/adapters/dynamo/single-use-tokens.ts',
        'functions/adapters/dynamo/snapshot-store.ts',
      ]),
    );
    expect(updates.length).toBeGreaterThanOrEqual(3);
  });

  it.each(puts.map((p) => [`${p.file}:${p.line}`, p.text] as const))('PutItem at %s carries a ConditionExpression', (_where, text) => {
    expect(text).toMatch(/ConditionExpression:\s*['`]/);
  });

  it.each(deletes.map((d) => [`${d.file}:${d.line}`, d.text] as const))('DeleteItem at %s carries a ConditionExpression', (_where, text) => {
    expect(text).toMatch(/ConditionExpression:\s*['`]/);
  });

  it.each(updates.filter((u) => !u.file.endsWith('rate-limits.ts')).map((u) => [`${u.file}:${u.line}`, u.text] as const))(
    'UpdateItem at %s carries a ConditionExpression',
    (_where, text) => {
      expect(text).toMatch(/ConditionExpression:\s*['`]/);
    },
  );

  it('updates a request partition only at its META item, on a condition an event item cannot meet', () => {
    const requestUpdates = updates.filter((u) => /requestPk\(/.test(u.text));
    expect(requestUpdates).toHaveLength(1);
    expect(requestUpdates[0]!.text).toMatch(/\[SORT_KEY\]: META_SK/);
    // Event items have no lastSeq: `attribute_exists(#pk) AND #lastSeq < :seq` is false for them.
    expect(requestUpdates[0]!.text).toMatch(/ConditionExpression: 'attribute_exists\(#pk\) AND #lastSeq < :seq'/);
  });

  it('sends no batch write but the snapshot refresh, and no scan at all', () => {
    expect(commandArguments('BatchWriteCommand').map((b) => b.file)).toEqual(['functions/adapters/dynamo/snapshot-store.ts']);
    expect(commandArguments('ScanCommand')).toEqual([]);
  });
});

describe('item kinds', () => {
  it('keys every item under one of the declared partition prefixes (the unit of the IAM LeadingKeys grants)', async () => {
    const keys = await import('../../../../functions/adapters/dynamo/keys');
    const prefixes = Object.values(keys.PARTITION_PREFIXES);
    const partitionKeys: string[] = [keys.requestPk('r-1'), keys.SNAPSHOT_POINTER_KEY.pk];
    for (const [name, value] of Object.entries(keys)) {
      if (typeof value !== 'function' || name === 'requestPk' || name === 'eventSk' || name === 'listKey' || name === 'epochSeconds') continue;
      const key = (value as (...args: unknown[]) => unknown)('a', 60, 0) as { pk?: unknown };
      expect({ name, pk: typeof key?.pk }).toEqual({ name, pk: 'string' });
      partitionKeys.push(key.pk as string);
    }

    expect(partitionKeys.length).toBeGreaterThanOrEqual(6);
    for (const pk of partitionKeys) expect({ pk, declared: prefixes.some((p) => (p.endsWith('#') ? pk.startsWith(p) : pk === p)) }).toEqual({ pk, declared: true });
  });
});
