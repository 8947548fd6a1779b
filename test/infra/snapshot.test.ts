import { describe, expect, it } from 'vitest';
import { synthesizeTemplate } from '../../infra/synth';

/**
 * Replaces what changes without a change of ours: asset hashes (64 hex) and the CDK version
 * string in the bootstrap check. Logical ids stay: renaming a resource replaces it in AWS, and
 * that should show up in review.
 */
function normalise(template: unknown): unknown {
  const text = JSON.stringify(template, null, 2).replace(/[a-f0-9]{64}/g, '<asset-hash>');
  return JSON.parse(text);
}

describe('ErasureDesk template', () => {
  it('matches the reviewed snapshot (update with `vitest -u` after checking the diff)', async () => {
    const template = normalise(synthesizeTemplate());
    await expect(JSON.stringify(template, null, 2) + '\n').toMatchFileSnapshot('./__snapshots__/erasure-desk.template.json');
  });

  it('is the same on every synthesis (no timestamps, random names or temp paths)', () => {
    const first = JSON.stringify(synthesizeTemplate());
    const second = JSON.stringify(synthesizeTemplate());
    expect(second).toBe(first);
    expect(first).not.toMatch(/erasure-desk-(unbundled|synth)|\/tmp\//);
  });
});
