import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readBody } from '../../../infra/local/api-gateway-adapter';
import { BodyTooLargeError, gatewayProblem, INTEGRATION_FAILED, MisdirectedRequestError, NO_ROUTE, sendGatewayProblem } from '../../../infra/local/gateway-answers';
import { PROBLEM_TYPE_BASE } from '../../../functions/adapters/http/shared/problem';

function written(error: unknown): { status: number; headers: Record<string, string | number>; body: string } {
  const out = { status: 0, headers: {} as Record<string, string | number>, body: '' };
  const res = {
    writeHead(status: number, headers: Record<string, string | number>) {
      out.status = status;
      out.headers = headers;
    },
    end(body: string) {
      out.body = body;
    },
  } as unknown as ServerResponse;
  sendGatewayProblem(res, error);
  return out;
}

describe("the local runtime's own answers", () => {
  it("answers no route and a failed function as API Gateway does, in plain JSON", () => {
    expect(NO_ROUTE).toEqual({ statusCode: 404, headers: { 'content-type': 'application/json' }, body: '{"message":"Not Found"}' });
    expect(INTEGRATION_FAILED).toEqual({ statusCode: 500, headers: { 'content-type': 'application/json' }, body: '{"message":"Internal Server Error"}' });
  });

  it.each([
    ['a body over the limit', new BodyTooLargeError(1024), 413, 'body-too-large', 'close'],
    ['a request not addressed to this server', new MisdirectedRequestError(421, 'Misdirected request'), 421, 'misdirected-request', 'close'],
    ['a proxy-form request target', new MisdirectedRequestError(400, 'Request target must be a path'), 400, 'invalid-request-target', 'close'],
  ])('answers %s with its problem', (_what, error, status, slug, connection) => {
    const answer = written(error);
    expect(answer.status).toBe(status);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(answer.headers.connection).toBe(connection);
    expect(answer.headers['content-length']).toBe(Buffer.byteLength(answer.body));
    expect(JSON.parse(answer.body)).toMatchObject({ type: PROBLEM_TYPE_BASE + slug, status });
  });

  it('names the limit of a body that is too large', () => {
    expect(JSON.parse(gatewayProblem(new BodyTooLargeError(2048)).body).detail).toContain('2048');
  });

  it('answers an error of its own with the plain 500, nothing of the error in it', () => {
    const answer = gatewayProblem(new Error('lookup of jane@example.com failed'));
    expect(answer.statusCode).toBe(500);
    expect(JSON.parse(answer.body)).toMatchObject({ type: `${PROBLEM_TYPE_BASE}internal`, status: 500 });
    expect(answer.body).not.toContain('jane@example.com');
  });

  it('stops reading a body at the limit', async () => {
    const req = Readable.from([Buffer.alloc(600), Buffer.alloc(600)]) as unknown as IncomingMessage;
    await expect(readBody(req, 1000)).rejects.toBeInstanceOf(BodyTooLargeError);
    const small = Readable.from([Buffer.from('hello')]) as unknown as IncomingMessage;
    expect((await readBody(small, 1000)).toString()).toBe('hello');
  });
});
