/**
 * The whole project type-checks (`tsc --noEmit` with the repository's tsconfig): handlers,
 * constructs, the local runtime and the tests. Part of `npm test` as a test file so that it runs
 * beside the other files instead of before them; `npm run typecheck` runs the same check alone.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../infra/synth';

const run = promisify(execFile);

describe('typecheck', () => {
  it('finds no type error anywhere in the project', async () => {
    const tsc = join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const outcome = await run(process.execPath, [tsc, '--noEmit', '--pretty', 'false'], { cwd: PROJECT_ROOT, maxBuffer: 16 * 1024 * 1024 }).then(
      (r) => ({ code: 0, output: r.stdout + r.stderr }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({ code: error.code ?? 1, output: `${error.stdout ?? ''}${error.stderr ?? ''}` }),
    );
    // The diagnostics themselves are the message when this fails.
    expect(outcome.output.trim()).toBe('');
    expect(outcome.code).toBe(0);
  }, 180_000);
});
