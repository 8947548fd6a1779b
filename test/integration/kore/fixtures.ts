/**
 * Fresh simulator + client pairs for the Kore.ai integration tests, over real HTTP on 127.0.0.1.
 */
import { KoreClient, type KoreClientOptions } from '../../../functions/adapters/kore/kore-client';
import type { KoreEraseStatus } from '../../../functions/domain/kore';
import { startKoreSimulator, type KoreSimulator, type KoreSimulatorOptions, type SimCall } from '../../../infra/local/kore-sim';

/** A clock both sides can share and move: `advance(ms)` jumps it forward. */
export function manualClock(start = Date.now()) {
  let t = start;
  return {
    now: () => new Date(t),
    nowMs: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

export interface Pair {
  sim: KoreSimulator;
  client: KoreClient;
  /** Another client of the same simulator with some options changed. */
  clientWith(overrides: Partial<KoreClientOptions>): KoreClient;
}

/** Starts a simulator (short jobs by default) and a client holding its credentials. */
export async function startPair(simOptions: KoreSimulatorOptions = {}, clientOptions: Partial<KoreClientOptions> = {}): Promise<Pair> {
  const sim = await startKoreSimulator({ jobDurationMs: 50, ...simOptions });
  const clientWith = (overrides: Partial<KoreClientOptions>) =>
    new KoreClient({
      baseUrl: sim.url,
      clientId: sim.config.clientId,
      clientSecret: sim.config.clientSecret,
      timeoutMs: 5000,
      ...clientOptions,
      ...overrides,
    });
  return { sim, client: clientWith({}), clientWith };
}

/** Polls the job until no user is `in-progress` any more (bounded, so a broken job fails the test). */
export async function pollUntilSettled(client: KoreClient, jobId: string, maxPolls = 200): Promise<KoreEraseStatus> {
  for (let i = 0; i < maxPolls; i++) {
    const status = await client.getEraseStatus(jobId);
    if (status.users.length > 0 && status.users.every((u) => u.status !== 'in-progress')) return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`job ${jobId} did not settle after ${maxPolls} polls`);
}

/** Waits (bounded) until the simulator has recorded a call matching `predicate`. */
export async function waitForCall(sim: KoreSimulator, predicate: (call: SimCall) => boolean, maxWaitMs = 5000): Promise<SimCall> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const found = sim.calls().find(predicate);
    if (found) return found;
    if (Date.now() > deadline) throw new Error('the simulator never recorded the expected call');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Runs `fn` and returns what it threw (fails when it did not throw). */
export async function caught(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}
