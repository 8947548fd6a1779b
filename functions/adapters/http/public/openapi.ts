/**
 * The OpenAPI 3.1 description of the public routes, generated from the very zod schemas that
 * validate requests, so documentation and behaviour cannot drift apart. The staff side merges
 * `publicOpenApiPaths()` (and `onBehalfOpenApiPath()`) into its own document.
 */
import * as z from '../../../domain/validation';
import { PROBLEM_TYPE_BASE } from '../shared/problem';
import { MAX_BODY_BYTES } from '../shared/messages';
import { formSubmissionSchema, onBehalfSchema, submissionAcceptedSchema, submissionSchema } from '../../../intake/schema';

type Json = Record<string, unknown>;

/** JSON Schema of a zod schema, for OpenAPI (what zod cannot express becomes `{}`). */
export function schemaOf(schema: z.ZodMiniType, io: 'input' | 'output' = 'input'): Json {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
  return rest;
}

/** RFC 9457 problem details, as every error of the API is answered. */
export const PROBLEM_SCHEMA: Json = {
  type: 'object',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string', format: 'uri', description: `A URI under ${PROBLEM_TYPE_BASE}` },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
    retryAfterSeconds: { type: 'integer' },
  },
};

/** A problem response entry for `responses`. */
export function problemResponse(description: string, headers?: Json): Json {
  return {
    description,
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    ...(headers ? { headers } : {}),
  };
}

const RETRY_AFTER = { 'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer' } } };
const HTML = (description: string) => ({ description, content: { 'text/html': { schema: { type: 'string' } } } });

/** The public routes (paths object of OpenAPI 3.1). */
export function publicOpenApiPaths(): Json {
  return {
    '/assets/site.css': { get: { summary: 'The stylesheet of the pages', responses: { '200': { description: 'CSS.', content: { 'text/css': { schema: { type: 'string' } } } } } } },
    '/': {
      get: {
        summary: 'The request form',
        description: 'Plain HTML that works without JavaScript. Sets the CSRF cookie the form post must bring back.',
        responses: { '200': HTML('The form.') },
      },
    },
    '/requests': {
      post: {
        summary: 'Ask for erasure',
        description:
          'JSON or form. Without botIds (or with an empty list) the data is erased from all bots; named bots must be bots of the organisation. ' +
          'The answer is the same whether a request was created or one of the same address and bots was already open (then no new one is made; ' +
          'its status link is emailed at most once every 10 minutes): it never tells whoever typed an address that the address has a request. ' +
          'Nothing counts per address: mails per mailbox are bounded instead (the address’s own all-bots request is paced, everything else shares a small hourly budget), ' +
          'and an address holds at most 3 open requests limited to some bots. ' +
          `Bodies larger than ${MAX_BODY_BYTES} bytes are refused. Browsers posting the form get 303 to /check-email, or the form again (422) with messages.`,
        requestBody: {
          required: true,
          content: {
            'application/json': { schema: schemaOf(submissionSchema) },
            'application/x-www-form-urlencoded': {
              schema: schemaOf(formSubmissionSchema),
              encoding: { botIds: { style: 'form', explode: true } },
            },
          },
        },
        responses: {
          '202': { description: 'Accepted: check your email.', content: { 'application/json': { schema: schemaOf(submissionAcceptedSchema, 'output') } } },
          '303': { description: 'Form post accepted: go to /check-email.', headers: { Location: { schema: { type: 'string' } } } },
          '400': problemResponse('Malformed body: invalid JSON or form data, invalid UTF-8, too deeply nested, or forbidden keys.'),
          '403': problemResponse('Form post without a valid CSRF token.'),
          '413': problemResponse('Body too large.'),
          '415': problemResponse('Content type is neither JSON nor form.'),
          '422': problemResponse('Validation failed, or a bot id is not a bot of the organisation; `errors` names each field.'),
          '429': problemResponse('Too many requests from this client (an IPv4 address, or an IPv6 /64).', RETRY_AFTER),
          '503': problemResponse('The confirmation email could not be sent (nothing was stored), or named bots cannot be checked yet (`errors` names botIds).', RETRY_AFTER),
        },
      },
    },
    '/check-email': {
      get: {
        summary: 'Where the form lands after a submission',
        description: 'The same page for every address: check your email for the confirmation or status link.',
        responses: { '200': { description: 'The page (HTML).', content: { 'text/html': { schema: { type: 'string' } } } } },
      },
    },
    '/verify': {
      get: {
        summary: 'Open the emailed confirmation link',
        description:
          'Only looks: checks the link and shows the confirmation page (its button posts the token back). Nothing is consumed or recorded, ' +
          'so a mail scanner that fetches every link confirms nothing.',
        parameters: [{ name: 'token', in: 'query', required: true, schema: { type: 'string', maxLength: 2048 } }],
        responses: {
          '200': { description: 'The confirmation page (HTML), or for JSON clients how to confirm.', content: { 'text/html': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object' } } } },
          '303': { description: 'The request is past confirmation already: see its status page.', headers: { Location: { schema: { type: 'string' } } } },
          '400': problemResponse('Not a valid link.'),
          '410': problemResponse('The link expired, or the request is closed.'),
        },
      },
      post: {
        summary: 'Confirm a request',
        description: 'The token of the emailed link, as the form field `token` or the JSON property `token`. Works once.',
        requestBody: {
          required: true,
          content: {
            'application/x-www-form-urlencoded': { schema: { type: 'object', required: ['token'], properties: { token: { type: 'string', maxLength: 2048 } } } },
            'application/json': { schema: { type: 'object', required: ['token'], properties: { token: { type: 'string', maxLength: 2048 } } } },
          },
        },
        responses: {
          '303': { description: 'Confirmed: see the status page.', headers: { Location: { schema: { type: 'string' } } } },
          '400': problemResponse('Not a valid link, or a malformed body.'),
          '410': problemResponse('The link expired, was already used, or the request is closed.'),
          '415': problemResponse('Content type is neither JSON nor form.'),
        },
      },
    },
    '/requests/{id}': {
      get: {
        summary: 'Status of a request',
        description: 'HTML, or JSON with `Accept: application/json`. A wrong token and an unknown id are the same 404.',
        parameters: [
          { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } },
          { name: 'token', in: 'query', required: true, schema: { type: 'string', maxLength: 2048 } },
        ],
        responses: {
          '200': {
            description: 'The request, its subject-safe timeline, due date, the signed receipt once completed, and what reading the platform back after the erasure found (verification: pending, verified, data-found or not-verified).',
            content: { 'application/json': { schema: { type: 'object' } }, 'text/html': { schema: { type: 'string' } } },
          },
          '404': problemResponse('No such request (or not your token).'),
        },
      },
    },
    '/.well-known/jwks.json': {
      get: {
        summary: 'Public key that verifies erasure receipts',
        responses: { '200': { description: 'A JWK set.', content: { 'application/json': { schema: { type: 'object' } } } } },
      },
    },
    '/openapi.json': { get: { summary: 'This description', responses: { '200': { description: 'OpenAPI 3.1 document.' } } } },
  };
}

/** `POST /ops/requests` for the staff side's document (auth and role are the staff side's part). */
export function onBehalfOpenApiPath(): Json {
  return {
    '/ops/requests': {
      post: {
        summary: 'Submit a request on a subject’s behalf (role ops)',
        security: [{ staffBearer: [] }],
        requestBody: { required: true, content: { 'application/json': { schema: schemaOf(onBehalfSchema) } } },
        responses: {
          '202': { description: 'Accepted (or the open request of the same subject and scope).', content: { 'application/json': { schema: { type: 'object' } } } },
          '422': problemResponse('Validation failed; `errors` names each field.'),
        },
      },
    },
  };
}

/** The components the paths refer to. */
export function openApiComponents(): Json {
  return {
    schemas: { Problem: PROBLEM_SCHEMA },
    securitySchemes: { staffBearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Staff token (role auditor or ops) of the configured OIDC issuer.' } },
  };
}

/**
 * The whole document, served at `GET /openapi.json`: the public routes and whatever staff routes
 * the composition adds (`extraPaths`), so one description covers every route.
 */
export function publicOpenApiDocument(serverUrl?: string, extraPaths: Json = {}): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Erasure desk API',
      version: '1.0.0',
      description: 'GDPR Art. 17 erasure requests for chatbots on the Kore.ai XO Platform. Errors are RFC 9457 problem details.',
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    paths: { ...publicOpenApiPaths(), ...extraPaths },
    components: openApiComponents(),
  };
}
