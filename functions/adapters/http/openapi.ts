/**
 * One description of every route (`GET /openapi.json`): the public ones, the staff ones, and
 * submission on a subject's behalf (`POST /ops/requests`, owned by the intake) next to the ops
 * listing (`GET /ops/requests`).
 */
import { onBehalfOpenApiPath } from './public/openapi';
import { staffOpenApiPaths } from './staff/openapi';

/** The paths the public API's document adds to its own. */
export function staffApiPaths(): Record<string, unknown> {
  const paths = staffOpenApiPaths();
  paths['/ops/requests'] = { ...(paths['/ops/requests'] as object), ...(onBehalfOpenApiPath()['/ops/requests'] as object) };
  return paths;
}
