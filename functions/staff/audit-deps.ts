/** What the auditor actions need (store, clock, subject key, checkpoints) and the view of a request they share. */
import { isOverdue } from '../domain/deadlines';
import { type ErasureRequest, type RequestStatus } from '../domain/model';
import type { AuditStore, Clock } from '../domain/ports';
import type { CheckpointReader } from './checkpoints';
import * as z from '../domain/validation';

export interface AuditDeps {
  store: AuditStore;
  clock: Clock;
  /** The HMAC key of subject ids (the same the intake hashes with). */
  subjectHashKey: Uint8Array | string;
  /** The trusted signed checkpoints; without them the chain check is hash-only, and says so. */
  checkpoints?: CheckpointReader;
}

/** The sort key of listings: receipt time, then id (unique, so the order is total and stable). */
export function listKey(request: Pick<ErasureRequest, 'receivedAt' | 'requestId'>): string {
  return `${request.receivedAt}#${request.requestId}`;
}

export interface ListFilters {
  /** One or many statuses; none means every status. */
  statuses?: RequestStatus[];
  /** Inclusive ISO bounds on `receivedAt`. */
  from?: string;
  to?: string;
  /** A plain subject id (email or enterprise id): normalised and hashed before lookup, never echoed. */
  subject?: string;
  /** Only non-final requests past their deadline. */
  overdue?: boolean;
  /** Canary (synthetic) requests are left out unless true. */
  includeCanary?: boolean;
  /** Newest first. */
  descending?: boolean;
}

export interface PageRequest {
  limit?: number;
  cursor?: string;
}

export const MAX_PAGE_LIMIT = 500;

export const DEFAULT_PAGE_LIMIT = 50;

/** A request as staff see it: no subject hash, no encrypted subject id. */
export type RequestView = Omit<ErasureRequest, 'subjectCipher' | 'subjectHash'> & { overdue: boolean };

export function toView(request: ErasureRequest, now: Date): RequestView {
  const { subjectCipher: _c, subjectHash: _h, ...rest } = request;
  return { ...rest, overdue: isOverdue(request.dueAt, now, request.status) };
}

/** An extra, possibly asynchronous, condition on listed requests (e.g. "no running execution"). */
export type RequestPredicate = (request: ErasureRequest) => boolean | Promise<boolean>;
