/**
 * The local Lambda service runs containers as Lambda does: one invocation at a time each, more
 * containers for concurrent invocations (up to a bound), and a timed-out invocation's container
 * stopped, so nothing the invocation still had to do happens.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
import { writeFileSync } from 'node:fs';
export const handler = async (event) => {
  await new Promise((r) => setTimeout(r, event.ms));
  if (event.write) writeFileSync(event.write, 'ran');
  return { waited: event.ms, container: threadId };
};
`,
);
const fn: TemplateFunction = { name: 'record-outcome', logicalId: 'FunctionsRecordOutcome', environment: {}, timeoutSeconds: 1, memorySize: 128, handler: 'index.handler' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('local Lambda service: containers as in Lambda', () => {
  it('runs one invocation per container: concurrent invocations get containers of their own, up to the concurrency, then wait', async () => {
    const service = new LocalLambdaService({ functions: [fn], bundles: { dir, hash: 'test', entry: () => entry }, endpoints: {}, concurrency: 2 });
    try {
      const started = Date.now();
      const runs = await Promise.all([300, 300, 300].map((ms) => service.invoke<{ container: number }>('record-outcome', { ms })));
      const elapsed = Date.now() - started;
      // Two containers at once; the third invocation waited for one of them and reused it.
      expect(new Set(runs.map((r) => r.container)).size).toBe(2);
      expect(elapsed).toBeGreaterThanOrEqual(600);
      expect(service.containers()).toEqual({ 'record-outcome': 2 });
    } finally {
      await service.stop();
    }
  });

  it('stops the container of an invocation past its timeout (Sandbox.Timedout): nothing it still had to do runs, its neighbours finish, the next one starts cold', async () => {
    const marker = join(dir, 'after-timeout');
    const service = new LocalLambdaService({ functions: [fn], bundles: { dir, hash: 'test', entry: () => entry }, endpoints: {} });
    try {
      const warm = await service.invoke<{ container: number }>('record-outcome', { ms: 0 });
      const slow = service.invoke('record-outcome', { ms: 3_000, write: marker }).then(
        () => 'finished',
        (error: Error) => error.name,
      );
      await sleep(500);
      // Started before the slow one times out (at 1 s), ends after it (at about 1.4 s), in another container.
      const neighbour = service.invoke<{ waited: number; container: number }>('record-outcome', { ms: 900 });
      expect(await slow).toBe('Sandbox.Timedout');
      await expect(neighbour).resolves.toMatchObject({ waited: 900 });
      const next = await service.invoke<{ container: number }>('record-outcome', { ms: 0 });
      expect(next.container).not.toBe(warm.container);
      // The timed-out run would have written its marker at 3 s: its container is gone, so it never does.
      await sleep(2_800);
      expect(existsSync(marker)).toBe(false);
      expect(service.metrics()['record-outcome']).toEqual({ invocations: 4, errors: 1, errorsByType: { 'Sandbox.Timedout': 1 } });
    } finally {
      await service.stop();
    }
  });
});
