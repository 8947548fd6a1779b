/**
 * What each function may do to the audit table, read from the synthesized IAM policies and
 * compared with one reviewed table. Any new grant fails here until the table says so, which makes
 * it a deliberate change. Write actions carry their `dynamodb:LeadingKeys` patterns: the item
 * kinds (partition-key prefixes) they may touch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_NAMES, type FunctionName } from '../../functions/adapters/env/capabilities';
import { PARTITION_PREFIXES } from '../../functions/adapters/dynamo/keys';
import { leadingKeyPattern } from '../../infra/constructs/functions';
import { joinToString, removeAssemblies, resourcesOfType, statementsOf, synth, type Synthesized } from './support';

let deployed: Synthesized;
let tableId: string;
let tableKeyId: string;

beforeAll(() => {
  deployed = synth({ context: { mailFrom: 'privacy@example.com', canaryBotIds: 'st-canary-1', canaryUserId: 'canary@example.com' } });
  const [id, table] = resourcesOfType(deployed.json, 'AWS::DynamoDB::Table')[0]!;
  tableId = id;
  tableKeyId = (table.Properties as { SSESpecification: { KMSMasterKeyId: { 'Fn::GetAtt': string[] } } }).SSESpecification.KMSMasterKeyId['Fn::GetAtt'][0]!;
});

afterAll(removeAssemblies);

/**
 * The reviewed table: function × DynamoDB actions on the audit table. `GetItem`/`Query` are on
 * the table and its indexes; each write lists the partition-key patterns it is limited to.
 */
const TABLE_ACCESS: Record<FunctionName, string[]> = {
  'public-api': ['GetItem', 'Query', 'PutItem REQ#* SUBJECT#* TOKEN#*', 'UpdateItem RATE#* REQ#* SUBJECT#*'],
  'audit-api': ['GetItem', 'Query'],
  'ops-api': ['GetItem', 'Query', 'PutItem REQ#* SUBJECT#*', 'UpdateItem REQ#* SUBJECT#*'],
  console: ['GetItem', 'Query', 'PutItem REQ#* SESSION#* SUBJECT#*', 'UpdateItem REQ#* SUBJECT#*'],
  // The Kore.ai callers also take turns from the shared call budget (one UpdateItem on BUDGET).
  'submit-erasure': ['GetItem', 'Query', 'PutItem REQ#*', 'UpdateItem BATCH#* BUDGET REQ#*'],
  'check-erasure-status': ['GetItem', 'Query', 'PutItem REQ#*', 'UpdateItem BUDGET JOB#* REQ#*'],
  'record-outcome': ['GetItem', 'Query', 'PutItem REQ#*', 'UpdateItem REQ#* SUBJECT#*'],
  'refresh-roles-snapshot': ['BatchWriteItem BOT#* PRIV#*', 'GetItem', 'PutItem SNAPSHOT', 'Query', 'UpdateItem BUDGET'],
  'sweep-requests': ['DeleteItem REQ#*', 'GetItem', 'PutItem REQ#*', 'Query', 'UpdateItem REQ#* SUBJECT#*'],
  'run-canary': ['GetItem', 'Query', 'PutItem REQ#* SUBJECT#*', 'UpdateItem REQ#* SUBJECT#*'],
  'sign-checkpoints': ['GetItem', 'Query'],
  // Read-backs append their events and take turns (priority verify) from the call budget.
  'verify-erasures': ['GetItem', 'Query', 'PutItem REQ#*', 'UpdateItem BUDGET REQ#* SUBJECT#*'],
};

const refersTo = (resource: unknown, id: string) => joinToString(resource).includes(`\${${id}.`) || joinToString(resource).includes(`\${${id}}`);

/** The DynamoDB grants of a function, as `Action [LeadingKeys…]`, sorted; any grant not on the audit table is reported as such. */
function tableAccessOf(name: FunctionName): string[] {
  const grants: string[] = [];
  for (const statement of statementsOf(deployed.json, name)) {
    const actions = ([] as string[]).concat(statement.Action).filter((a) => a.startsWith('dynamodb:'));
    if (actions.length === 0) continue;
    const resources = ([] as unknown[]).concat(statement.Resource);
    const onTable = resources.every((r) => refersTo(r, tableId));
    const condition = statement.Condition as { 'ForAllValues:StringLike'?: { 'dynamodb:LeadingKeys'?: string[] } } | undefined;
    const keys = condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] ?? [];
    const unknownCondition = condition !== undefined && Object.keys(condition).join() !== 'ForAllValues:StringLike';
    for (const action of actions) {
      grants.push([action.replace('dynamodb:', ''), ...[...keys].sort()].join(' ') + (onTable ? '' : ' (not only the audit table)') + (unknownCondition ? ' (other condition)' : ''));
    }
  }
  return grants.sort();
}

describe('audit table access per function', () => {
  it('has a reviewed row for every function, and every function is deployed', () => {
    expect(Object.keys(TABLE_ACCESS).sort()).toEqual([...FUNCTION_NAMES].sort());
  });

  it.each(FUNCTION_NAMES)('gives %s exactly the reviewed DynamoDB actions', (name) => {
    expect(tableAccessOf(name)).toEqual([...TABLE_ACCESS[name]].sort());
  });

  it.each(['public-api', 'console', 'audit-api'] as const)('keeps the internet-facing or read-only %s from deleting, scanning or batch-writing', (name) => {
    const actions = tableAccessOf(name).map((g) => g.split(' ')[0]);
    for (const forbidden of ['DeleteItem', 'Scan', 'BatchWriteItem', 'BatchGetItem', 'PartiQLUpdate', 'PartiQLDelete', 'PartiQLInsert']) {
      expect({ name, forbidden, granted: actions.includes(forbidden) }).toEqual({ name, forbidden, granted: false });
    }
  });

  it('lets only functions that append events (or the snapshot refresh) write, and audit-api and sign-checkpoints not at all', () => {
    const writers = FUNCTION_NAMES.filter((n) => tableAccessOf(n).some((g) => !/^(GetItem|Query)$/.test(g)));
    expect(writers.sort()).toEqual(FUNCTION_NAMES.filter((n) => n !== 'audit-api' && n !== 'sign-checkpoints').sort());
    for (const name of writers.filter((n) => n !== 'refresh-roles-snapshot')) {
      expect({ name, appendsEvents: tableAccessOf(name).some((g) => /^PutItem REQ#\*/.test(g)) }).toEqual({ name, appendsEvents: true });
    }
  });

  it('lets the snapshot refresh write snapshot items only, never a request', () => {
    for (const grant of tableAccessOf('refresh-roles-snapshot').filter((g) => !/^(GetItem|Query)$/.test(g))) expect(grant).not.toContain('REQ#');
  });

  it('spells every LeadingKeys pattern from the one list of partition prefixes', () => {
    const patterns = new Set(Object.values(TABLE_ACCESS).flatMap((rows) => rows.flatMap((r) => r.split(' ').slice(1))));
    const known = new Set(Object.keys(PARTITION_PREFIXES).map((k) => leadingKeyPattern(k as keyof typeof PARTITION_PREFIXES)));
    for (const pattern of patterns) expect({ pattern, known: known.has(pattern) }).toEqual({ pattern, known: true });
  });

  it('lets readers only decrypt with the table key, and writers also encrypt', () => {
    for (const name of FUNCTION_NAMES) {
      const keyActions = statementsOf(deployed.json, name)
        .filter((s) => ([] as unknown[]).concat(s.Resource).some((r) => refersTo(r, tableKeyId)))
        .flatMap((s) => ([] as string[]).concat(s.Action))
        .sort();
      const writes = TABLE_ACCESS[name].some((g) => !/^(GetItem|Query)$/.test(g));
      const expected = writes ? ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'] : ['kms:Decrypt', 'kms:DescribeKey'];
      expect({ name, keyActions }).toEqual({ name, keyActions: expected });
    }
  });
});
