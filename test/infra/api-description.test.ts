/**
 * The API description and the deployed routes agree: every route API Gateway serves (but the
 * console's HTML pages) is described in `GET /openapi.json`, and every described route is deployed.
 */
import { describe, expect, it } from 'vitest';
import { staffApiPaths } from '../../functions/adapters/http/openapi';
import { publicOpenApiDocument } from '../../functions/adapters/http/public/openapi';
import { ROUTES } from '../../infra/constructs/api';

describe('GET /openapi.json', () => {
  const document = publicOpenApiDocument(undefined, staffApiPaths()) as { paths: Record<string, Record<string, unknown>> };
  const described = Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
  const deployed = ROUTES.filter((r) => r.handler !== 'console').map((r) => `${r.method} ${r.path}`);

  it('describes every deployed route', () => {
    expect(deployed.filter((route) => !described.includes(route))).toEqual([]);
  });

  it('describes no route that is not deployed', () => {
    expect(described.filter((route) => !deployed.includes(route))).toEqual([]);
  });

  it('asks for a bearer token on every staff route and on none of the public ones', () => {
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const operation of Object.values(operations) as { security?: unknown[] }[]) {
        const staff = path.startsWith('/audit/') || path.startsWith('/ops/');
        expect(Boolean(operation.security?.length), `${path}`).toBe(staff);
      }
    }
  });
});
