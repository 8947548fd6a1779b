/** Use case: a streamed export of a period (CSV or JSON), page by page, with CSV formula injection neutralised. */
import { stringify, type Options } from 'csv-stringify/sync';
import { type RequestStatus } from '../domain/model';
import * as z from '../domain/validation';
import { AuditDeps, ListFilters, RequestView, toView } from './audit-deps';
import { iterateRequests } from './list-requests';

export interface ExportPeriod {
  from?: string;
  to?: string;
  statuses?: RequestStatus[];
  includeCanary?: boolean;
}

export const EXPORT_COLUMNS = [
  'requestId',
  'status',
  'channel',
  'subjectKind',
  'scopeKey',
  'receivedAt',
  'dueAt',
  'overdue',
  'extendedAt',
  'extensionReason',
  'attempt',
  'koreRequestId',
  'rejectionRule',
  'rejectionBotIds',
  'rejectionSource',
  'failureReason',
  'completedAt',
  'verification',
  'verificationReason',
  'verificationSessions',
  'verificationReadBackSha256',
  'updatedAt',
  'lastSeq',
  'lastHash',
] as const;

export function exportRow(view: RequestView): Record<(typeof EXPORT_COLUMNS)[number], string | number | boolean | undefined> {
  return {
    requestId: view.requestId,
    status: view.status,
    channel: view.channel,
    subjectKind: view.subjectKind,
    scopeKey: view.scopeKey,
    receivedAt: view.receivedAt,
    dueAt: view.dueAt,
    overdue: view.overdue,
    extendedAt: view.extended?.at,
    extensionReason: view.extended?.reason,
    attempt: view.attempt,
    koreRequestId: view.koreRequestId,
    rejectionRule: view.rejection?.rule,
    rejectionBotIds: view.rejection?.botIds.join(' '),
    rejectionSource: view.rejection?.source,
    failureReason: view.failureReason,
    completedAt: view.completedAt,
    verification: view.verification?.stage,
    verificationReason: view.verification?.reason,
    verificationSessions: view.verification?.sessions,
    verificationReadBackSha256: view.verification?.readBackSha256,
    updatedAt: view.updatedAt,
    lastSeq: view.lastSeq,
    lastHash: view.lastHash,
  };
}

/**
 * One CSV cell: spreadsheet formulas neutralised (a leading `= + - @`, tab or CR gets a `'`
 * prefix so Excel/Sheets show text instead of evaluating it), then RFC 4180 quoting.
 */
export function csvCell(value: string | number | boolean | undefined | null): string {
  return stringify([[neutralised(value)]], CSV_OPTIONS).slice(0, -2);
}

/** A cell a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, CR) is prefixed with `'`. */
function neutralised(value: string | number | boolean | undefined | null): string {
  if (value === undefined || value === null) return '';
  const text = String(value);
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

/** csv-stringify: CRLF line ends, quotes only where a cell needs them (`"`, `,`, CR, LF). */
const CSV_OPTIONS: Options = { record_delimiter: 'windows', quoted_match: /[\r\n]/ };

/** One CSV line per row, formula injection neutralised in every cell. */
function csvLines(rows: readonly (string | number | boolean | undefined | null)[][]): string {
  return stringify(
    rows.map((r) => r.map(neutralised)),
    CSV_OPTIONS,
  );
}

/**
 * The records of a period as a stream of text chunks (one chunk per page of records): CSV with a
 * header row and CRLF line ends, or a JSON array. Memory stays flat for any number of records.
 * @throws InvalidCursorError (lazily, on first read) for inconsistent filters.
 */
export async function* exportRequests(deps: AuditDeps, period: ExportPeriod, format: 'csv' | 'json'): AsyncGenerator<string> {
  const filters: ListFilters = { statuses: period.statuses, from: period.from, to: period.to, includeCanary: period.includeCanary };
  const now = deps.clock.now();
  if (format === 'csv') {
    yield `${EXPORT_COLUMNS.join(',')}\r\n`;
    for await (const items of iterateRequests(deps, filters)) {
      yield csvLines(items.map((item) => {
        const row = exportRow(toView(item, now));
        return EXPORT_COLUMNS.map((c) => row[c]);
      }));
    }
    return;
  }
  yield '[';
  let first = true;
  for await (const items of iterateRequests(deps, filters)) {
    let chunk = '';
    for (const item of items) {
      chunk += (first ? '\n' : ',\n') + JSON.stringify(toView(item, now));
      first = false;
    }
    yield chunk;
  }
  yield first ? ']' : '\n]\n';
}

// ---------------------------------------------------------------------------------------------
// Report
