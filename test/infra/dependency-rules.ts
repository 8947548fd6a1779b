/**
 * Runs the layer rules of `.dependency-cruiser.cjs` over a tree and lists what breaks them, one
 * line per import (`rule: from → to`). Known violations (`.dependency-cruiser-known-violations.json`,
 * written by `npx depcruise-baseline`) are left out only when the caller passes them.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cruise, type IConfiguration, type IViolation } from 'dependency-cruiser';

const require = createRequire(import.meta.url);

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
export const KNOWN_VIOLATIONS_FILE = join(REPO_ROOT, '.dependency-cruiser-known-violations.json');

export async function layerViolations(options: { baseDir: string; paths: string[]; knownViolations?: IViolation[] }): Promise<string[]> {
  const config = require(join(REPO_ROOT, '.dependency-cruiser.cjs')) as IConfiguration;
  const result = await cruise(
      options.paths,
      {
        ...config.options,
        tsConfig: { fileName: join(REPO_ROOT, 'tsconfig.json') },
        baseDir: options.baseDir, // the rules match paths relative to the tree's root
        validate: true,
        ruleSet: { forbidden: config.forbidden ?? [] },
        outputType: 'json',
        ...(options.knownViolations ? { knownViolations: options.knownViolations } : {}),
      },
      undefined,
      { tsConfig: JSON.parse(readFileSync(join(REPO_ROOT, 'tsconfig.json'), 'utf8')) },
    );
  const output = typeof result.output === 'string' ? JSON.parse(result.output) : result.output;
  return (output.summary.violations as IViolation[])
    .filter((v) => v.rule.severity === 'error')
    .map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)
    .sort();
}
