/**
 * Every DynamoDB-backed adapter over one table, built together so each runtime (Lambda, local)
 * wires the same thing the same way.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { systemClock, type Clock } from '../../domain/ports';
import { DynamoAuditStore } from './audit-store';
import { DynamoOpenRequestClaims } from './open-request-claims';
import { DynamoRateLimiter } from './rate-limits';
import { DynamoRefreshCursors } from './refresh-cursor-store';
import { DynamoSessionRevocations } from './session-revocations';
import { DynamoSingleUseTokens } from './single-use-tokens';
import { DynamoSnapshotStore } from './snapshot-store';

export interface DynamoAdapters {
  store: DynamoAuditStore;
  claims: DynamoOpenRequestClaims;
  tokens: DynamoSingleUseTokens;
  rateLimiter: DynamoRateLimiter;
  snapshots: DynamoSnapshotStore;
  sessionRevocations: DynamoSessionRevocations;
  refreshCursors: DynamoRefreshCursors;
}

export function createDynamoAdapters(options: { client: DynamoDBDocumentClient; tableName: string; clock?: Clock; retentionDays?: number }): DynamoAdapters {
  const common = { client: options.client, tableName: options.tableName, clock: options.clock ?? systemClock };
  return {
    store: new DynamoAuditStore({ ...common, ...(options.retentionDays !== undefined ? { retentionDays: options.retentionDays } : {}) }),
    claims: new DynamoOpenRequestClaims(common),
    tokens: new DynamoSingleUseTokens(common),
    rateLimiter: new DynamoRateLimiter(common),
    snapshots: new DynamoSnapshotStore(common),
    sessionRevocations: new DynamoSessionRevocations(common),
    refreshCursors: new DynamoRefreshCursors(common),
  };
}
