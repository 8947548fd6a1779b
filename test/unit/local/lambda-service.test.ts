/**
 * The local Lambda service's timeout seam: an invocation past the function's timeout fails with
 * `Sandbox.Timedout` and its container is replaced, while the invocations that container still
 * runs end normally (in Lambda they would run in containers of their own).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalLambdaService, type TemplateFunction } from '../../../infra/local/lambda-service';

const dir = mkdtempSync(join(tmpdir(), 'erasure-desk-lambda-service-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// A handler that waits as long as asked and says which container (thread) ran it.
const entry = join(dir, 'index.mjs');
writeFileSync(
  entry,
  `import { threadId } from 'node:worker_threads';
export const handler = async (event) => { await new Promise((r) => setTimeout(r, event.ms)); return { waited: event.ms, container: threadId }; };
`,
);
const fn: TemplateFunction = { name: 'record-outcome', logicalId: 'FunctionsRecordOutcome', environment: {}, timeoutSeconds: 1, memorySize: 128, handler: 'index.handler' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('local Lambda service: an invocation that times out', () => {
  it('fails alone with Sandbox.Timedout; its neighbours finish and the next invocation starts a new container', async () => {
    const service = new LocalLambdaService({ functions: [fn], bundles: { dir, hash: 'test', entry: () => entry }, endpoints: {} });
    try {
      const warm = await service.invoke<{ container: number }>('record-outcome', { ms: 0 });
      const slow = service.invoke('record-outcome', { ms: 3_000 }).then(
        () => 'finished',
        (error: Error) => error.name,
      );
      await sleep(500);
      // Started before the slow one times out (at 1 s), ends after it (at about 1.4 s).
      const neighbour = service.invoke<{ waited: number; container: number }>('record-outcome', { ms: 900 });
      expect(await slow).toBe('Sandbox.Timedout');
      await expect(neighbour).resolves.toEqual({ waited: 900, container: warm.container });
      const next = await service.invoke<{ container: number }>('record-outcome', { ms: 0 });
      expect(next.container).not.toBe(warm.container);
      expect(service.metrics()['record-outcome']).toEqual({ invocations: 4, errors: 1, errorsByType: { 'Sandbox.Timedout': 1 } });
    } finally {
      await service.stop();
    }
  });
});
