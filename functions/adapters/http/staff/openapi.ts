/**
 * The staff routes in OpenAPI 3.1, merged into `GET /openapi.json` next to the public ones.
 * Query parameters and bodies come from the same zod schemas that validate them.
 */
import type * as z from '../../../domain/validation';
import { problemResponse, schemaOf } from '../public/openapi';
import { bulkRetrySchema, exportQuerySchema, listQuerySchema, opsListQuerySchema, reasonBodySchema, refreshBodySchema, reportQuerySchema } from './schemas';

type Json = Record<string, unknown>;

/** Query parameters from the properties of an object schema (all optional, as the API treats them). */
function queryParameters(schema: z.ZodMiniType): Json[] {
  const properties = (schemaOf(schema).properties ?? {}) as Record<string, Json>;
  return Object.entries(properties).map(([name, property]) => ({ name, in: 'query', required: false, schema: property }));
}

const ID_PARAMETER = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const SECURITY = [{ staffBearer: [] }];
const AUTH_PROBLEMS = { '401': problemResponse('Missing or invalid token.'), '403': problemResponse('The token lacks the role.') };
const JSON_OK = (description: string) => ({ description, content: { 'application/json': { schema: { type: 'object' } } } });

function read(summary: string, parameters: Json[], ok: Json, extra: Json = {}): Json {
  return { get: { summary, security: SECURITY, parameters, responses: { '200': ok, '400': problemResponse('Bad query.'), ...AUTH_PROBLEMS, ...extra } } };
}

function act(summary: string, body: z.ZodMiniType, parameters: Json[] = []): Json {
  return {
    post: {
      summary,
      security: SECURITY,
      parameters,
      requestBody: { required: true, content: { 'application/json': { schema: schemaOf(body) } } },
      responses: { '200': JSON_OK('Done; the request as it is now.'), '400': problemResponse('Bad body.'), ...AUTH_PROBLEMS, '404': problemResponse('No such request.'), '409': problemResponse('The request’s status does not allow this action.') },
    },
  };
}

/** The auditor and ops routes (paths object). */
export function staffOpenApiPaths(): Json {
  return {
    '/audit/requests': read('List requests (role auditor or ops)', queryParameters(listQuerySchema), JSON_OK('A page of requests and the cursor of the next.')),
    '/audit/requests/{id}': read('One request, its timeline and the chain check', [ID_PARAMETER], JSON_OK('The request, its events and the chain status.'), { '404': problemResponse('No such request.') }),
    '/audit/export': read('Export the records of a period (CSV or JSON, streamed)', queryParameters(exportQuerySchema), {
      description: 'The records.',
      content: { 'text/csv': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'array' } } },
    }),
    '/audit/report': read('Counts, time to completion, deadlines', queryParameters(reportQuerySchema), JSON_OK('The report.')),
    '/ops/requests': { ...read('Failed, timed-out, stuck, overdue, needs-review or data-found requests (role ops)', queryParameters(opsListQuerySchema), JSON_OK('A page of requests.')) },
    '/ops/requests/{id}/retry': act('Retry: a new attempt; also a COMPLETED request whose data was read back still there (data-found) (role ops)', reasonBodySchema, [ID_PARAMETER]),
    '/ops/requests/{id}/cancel': act('Cancel (role ops)', reasonBodySchema, [ID_PARAMETER]),
    '/ops/requests/{id}/recheck': act('Re-check eligibility (role ops)', reasonBodySchema, [ID_PARAMETER]),
    '/ops/requests/{id}/extend': act('Extend the deadline by two months, Art. 12(3) (role ops)', reasonBodySchema, [ID_PARAMETER]),
    '/ops/requests/{id}/revoke-links': act(
      'Revoke every status link of the request issued so far: they answer 404 like an unknown id; links in later mails work (role ops)',
      reasonBodySchema,
      [ID_PARAMETER],
    ),
    '/ops/requests/{id}/verify': act(
      'Verify now: read a COMPLETED erasure back from Kore.ai sessions history at the next verify-erasures run (within the call budget); recorded with the actor (role ops)',
      reasonBodySchema,
      [ID_PARAMETER],
    ),
    '/ops/retry': act('Retry many, by ids or status (role ops)', bulkRetrySchema),
    '/ops/roles/refresh': act('Refresh the user-roles snapshot now (role ops)', refreshBodySchema),
  };
}
