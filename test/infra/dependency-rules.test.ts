/**
 * The one direction of dependencies in functions/ (domain ← use cases ← adapters ← composition
 * ← entries), as `.dependency-cruiser.cjs` states it, holds for the code; and the check fails,
 * naming each import, on a tree that breaks it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KNOWN_VIOLATIONS_FILE, layerViolations, REPO_ROOT } from './dependency-rules';

describe('dependency rules', () => {
  it('finds no import against the direction of the layers in functions/, infra/ and bench/', async () => {
    const known = existsSync(KNOWN_VIOLATIONS_FILE) ? JSON.parse(readFileSync(KNOWN_VIOLATIONS_FILE, 'utf8')) : undefined;

    const violations = await layerViolations({ baseDir: REPO_ROOT, paths: ['functions', 'infra', 'bench'], knownViolations: known });

    expect(violations, `imports against the layers:\n${violations.join('\n')}`).toEqual([]);
  });

  it('names every import of a tree that breaks the rules', async () => {
    const violations = await layerViolations({ baseDir: join(import.meta.dirname, 'fixtures', 'layers'), paths: ['functions'] });

    expect(violations).toEqual([
      'adapters-import-no-composition: functions/adapters/dynamo/store.ts → functions/composition/wiring.ts',
      'domain-imports-only-domain: functions/domain/model.ts → functions/adapters/dynamo/store.ts',
      'only-entries-import-composition: functions/adapters/dynamo/store.ts → functions/composition/wiring.ts',
      'use-cases-import-no-adapter: functions/intake/submit.ts → functions/adapters/dynamo/store.ts',
    ]);
  });
});
