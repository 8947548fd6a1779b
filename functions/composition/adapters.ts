/**
 * What the composition gets from a runtime (AWS or local): the adapters and settings every part
 * of the system is wired from. Each per-function module (`public-api.ts`, `submit-erasure.ts`, …)
 * takes only the members it uses (`Pick<ApplicationAdapters, …>`), so a Lambda bundle carries
 * the code of its own function and no other.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { CallBudget } from '../domain/call-budget';
import type { ErasureBatchPolicy, ErasureBatchStore, SharedJobStatusStore } from '../domain/erasure-batch';
import type { KorePlatform } from '../domain/kore';
import type { RolePagingPolicy } from '../domain/role-paging';
import type { SnapshotInfo } from '../domain/model';
import type { Clock, Logger, Mailer, Signer, WorkflowStarter } from '../domain/ports';
import type { SubjectKeys } from '../domain/subject';
import type { StaffAuthenticator } from '../adapters/http/staff/auth';
import type { WorkflowSettings } from '../adapters/env/settings';
import type { DynamoAdapters } from '../adapters/dynamo/adapters';
import type { SiteInfo } from '../intake/notices';
import type { CheckpointWriter } from '../staff/checkpoints';

export interface ApplicationAdapters extends DynamoAdapters {
  kore: KorePlatform;
  /** The deployment's shared Kore.ai call budget; absent where nothing calls Kore.ai (or in tests: unlimited). */
  budget?: CallBudget;
  /** Batched erasures (the erasure tasks); absent: every request is sent alone. */
  batching?: { policy: ErasureBatchPolicy; batches: ErasureBatchStore; jobStatus: SharedJobStatusStore };
  /** The paced roles refresh (cadence, run length, lease timing); absent: the snapshot is refreshed in one go. */
  rolePaging?: { policy: RolePagingPolicy; runMs: number; leaseGraceMs?: number; leasePollMs?: number };
  mailer: Mailer;
  /** Signs erasure receipts (typ `erasure-receipt+jws`) with the receipt key, and only those. */
  receiptSigner: Signer;
  /**
   * The checkpoint key (typ `audit-checkpoint+jws`): signs checkpoints where this runtime may, and
   * verifies them everywhere the chain is checked.
   */
  checkpointSigner: Signer;
  workflow: WorkflowStarter;
  /** The checkpoint store; absent where none is configured (chain checks then say so). */
  checkpointWriter?: CheckpointWriter;
  /** Record retention (days) of the store's TTL: chains past it are no longer checkpointed. */
  recordRetentionDays?: number;
  staffAuth: StaffAuthenticator;
  clock: Clock;
  subjectKeys: SubjectKeys;
  linkKey: Uint8Array;
  publicBaseUrl: string;
  settings: WorkflowSettings;
  site?: Partial<SiteInfo>;
  /** The log every use case writes through (Powertools in AWS). */
  logger: Logger;
  /**
   * Rebuilds the roles snapshot for the ops actions (API and console) somewhere else than in this
   * process. In AWS the refresh-roles-snapshot function does it, so the internet-facing functions
   * hold neither the Kore.ai credentials nor batch writes; absent (locally), they refresh in-process.
   */
  rolesRefresh?: () => Promise<SnapshotInfo>;
}

export type HttpHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/** `build` run on the first call only; later calls return its result. */
export function once<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => (built ??= { value: build() }).value;
}
