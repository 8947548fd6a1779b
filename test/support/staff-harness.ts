/**
 * Wiring of the staff apps over the fakes, fresh for every test, and an API Gateway v2 event builder.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { ErasureRequest, SnapshotInfo } from '../../functions/domain/model';
import { createAuditApi } from '../../functions/adapters/http/staff/audit-api';
import { createConsole } from '../../functions/adapters/http/staff/console';
import { createOpsApi } from '../../functions/adapters/http/staff/ops-api';
import type { OpsDeps } from '../../functions/staff/ops-deps';
import { silentLogger, type Logger } from '../../functions/domain/ports';
import type { CheckpointReader } from '../../functions/staff/checkpoints';
import { createTokenKit, FakeSnapshots, FakeWorkflow, MutableClock, SUBJECT_KEY, type TokenKit } from './staff-fakes';
import { InMemoryAuditStore } from './in-memory-audit-store';

export const NOW = '2026-03-01T12:00:00.000Z';

export const SNAPSHOT: SnapshotInfo = { version: 'snap-1', takenAt: '2026-03-01T11:00:00.000Z', userCount: 100, identityCount: 10 };

export interface Harness {
  store: InMemoryAuditStore;
  workflow: FakeWorkflow;
  clock: MutableClock;
  snapshots: FakeSnapshots;
  notices: { request: ErasureRequest; kind: string; details: { reason: string } }[];
  refreshes: number;
  deps: OpsDeps & { logger: Logger };
  tokens: TokenKit;
  auditApi: ReturnType<typeof createAuditApi>;
  opsApi: ReturnType<typeof createOpsApi>;
  console: ReturnType<typeof createConsole>;
}

let kit: Promise<TokenKit> | undefined;
/** The RSA key pair is the slow part; one per test file is enough (tokens are minted per test). */
function tokenKit(): Promise<TokenKit> {
  kit ??= createTokenKit();
  return kit;
}

export async function createHarness(options: { checkpoints?: CheckpointReader; submitOnBehalf?: Parameters<typeof createOpsApi>[0]['submitOnBehalf'] } = {}): Promise<Harness> {
  const clock = new MutableClock(new Date(NOW));
  const store = new InMemoryAuditStore({ clock });
  const workflow = new FakeWorkflow();
  const snapshots = new FakeSnapshots(SNAPSHOT);
  const notices: Harness['notices'] = [];
  const h = { refreshes: 0 } as Harness;
  const deps: OpsDeps & { logger: Logger } = {
    store,
    clock,
    logger: silentLogger,
    workflow,
    snapshots,
    subjectHashKey: SUBJECT_KEY,
    checkpoints: options.checkpoints,
    notifySubject: async (request, kind, details) => {
      notices.push({ request, kind, details });
    },
    refreshRolesSnapshot: async () => {
      h.refreshes++;
      return { ...SNAPSHOT, version: 'snap-2', takenAt: clock.now().toISOString() };
    },
  };
  const tokens = await tokenKit();
  Object.assign(h, {
    store,
    workflow,
    clock,
    snapshots,
    notices,
    deps,
    tokens,
    auditApi: createAuditApi({ ...deps, auth: tokens.auth }),
    opsApi: createOpsApi({ ...deps, auth: tokens.auth, submitOnBehalf: options.submitOnBehalf }),
    console: createConsole({ ...deps, auth: tokens.auth, csrfKey: 'test-csrf-key-0123456789abcdef', sessions: tokens.sessions }),
  });
  return h;
}

export interface EventInit {
  method?: string;
  path: string;
  query?: string;
  headers?: Record<string, string>;
  body?: string | Record<string, unknown>;
  form?: Record<string, string>;
  token?: string;
  cookies?: string[];
}

export function apiEvent(init: EventInit): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  let body: string | undefined;
  if (init.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(init.form).toString();
  } else if (init.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  }
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: init.path,
    rawQueryString: init.query ?? '',
    headers,
    cookies: init.cookies,
    body,
    isBase64Encoded: false,
    requestContext: { http: { method: init.method ?? 'GET', path: init.path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' } },
  } as unknown as APIGatewayProxyEventV2;
}

export function jsonOf<T = Record<string, unknown>>(result: { body?: string }): T {
  return JSON.parse(result.body ?? '') as T;
}
