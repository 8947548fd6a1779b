/**
 * Child processes for end-to-end tests that need a real process boundary (`npm start` killed
 * with SIGKILL and started again; the simulator as its own process so Kore.ai outlives our crash).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

/** A port that was free a moment ago (bound to 0, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Child {
  process: ChildProcess;
  output(): string;
  /** Resolves when the process exits (after a kill). */
  exited: Promise<number | null>;
  /** SIGKILLs the whole process group (tsx runs the program in a child process of its own). */
  kill(): Promise<void>;
}

/** Runs a TypeScript entry with tsx and waits until its output matches `ready`. */
export async function startChild(entry: string, env: Record<string, string>, ready: RegExp, timeoutMs = 60_000): Promise<Child> {
  const child = spawn(TSX, [join(ROOT, entry)], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const kill = async () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
  };
  const until = Date.now() + timeoutMs;
  while (!ready.test(output)) {
    if (child.exitCode !== null) throw new Error(`${entry} exited early:\n${output}`);
    if (Date.now() > until) {
      await kill();
      throw new Error(`${entry} did not get ready in time:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { process: child, output: () => output, exited, kill };
}

/** The Kore.ai simulator as its own process on a free loopback port (it outlives runtime crashes). */
export async function startSimulatorChild(jobMs: number, env: Record<string, string> = {}): Promise<{ child: Child; url: string }> {
  const port = await freePort();
  const child = await startChild('infra/local/kore-sim-cli.ts', { KORE_SIM_PORT: String(port), KORE_SIM_JOB_MS: String(jobMs), ...env }, /127\.0\.0\.1:\d+/);
  return { child, url: `http://127.0.0.1:${port}` };
}
