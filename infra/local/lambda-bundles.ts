/**
 * The Lambda bundles the stack deploys, for the local runtime and the end-to-end suites.
 *
 * They are the assets a real `cdk synth` writes: the stack is synthesized with bundling on (the
 * `NodejsFunction`s run esbuild with `BUNDLING`), and each function's asset directory is kept.
 * Nothing here builds code any other way, so what runs locally is byte for byte what `cdk deploy`
 * uploads. A synth with bundling takes several seconds, so the bundles are cached under
 * `.build/lambda-bundles/<hash>/`, the hash covering every input of the build (handler and
 * infrastructure sources, lockfile, compiler settings); a changed source builds afresh.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { FUNCTION_NAMES, type FunctionName } from '../constructs/functions';
import { createApp, PROJECT_ROOT, type CfnTemplate } from '../synth';
import type { Logger } from '../../functions/domain/ports';

/** Where each function's bundle lives: `<dir>/<name>/index.mjs`. */
export interface LambdaBundles {
  readonly dir: string;
  readonly hash: string;
  /** Absolute path of a function's entry module (`index.mjs`, exporting `handler`). */
  entry(name: FunctionName): string;
}

/** Context for the bundling synth: every optional function deployed (a canary needs its settings). */
const BUNDLING_CONTEXT = { canaryBotIds: 'st-bundling-canary', canaryUserId: 'bundling-canary' };
const MANIFEST = 'manifest.json';

/** Every file whose content can change a bundle. */
function buildInputs(root: string): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      // The local runtime is not part of any bundle.
      if (entry.isDirectory()) {
        if (path !== join(root, 'infra', 'local')) walk(path);
      }
      else if (/\.(ts|mts|cts|js|mjs|cjs|json)$/.test(entry.name)) files.push(path);
    }
  };
  for (const dir of ['functions', 'infra']) walk(join(root, dir));
  for (const file of ['package-lock.json', 'tsconfig.json']) files.push(join(root, file));
  return files.sort();
}

/** A hash of every build input (paths and contents). */
export function bundleInputsHash(root = PROJECT_ROOT): string {
  const hash = createHash('sha256');
  for (const file of buildInputs(root)) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 24);
}

/** The function name a synthesized Lambda stands for (its POWERTOOLS_SERVICE_NAME is `erasure-desk-<name>`). */
export function functionNameOf(resource: { Properties?: Record<string, unknown> }): FunctionName | undefined {
  const vars = (resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables;
  const service = vars?.POWERTOOLS_SERVICE_NAME;
  const name = typeof service === 'string' ? service.replace(/^erasure-desk-/, '') : undefined;
  return (FUNCTION_NAMES as readonly string[]).includes(name ?? '') ? (name as FunctionName) : undefined;
}

/**
 * Synthesizes the stack with bundling into a fresh cloud assembly and copies each function's
 * asset directory to `<target>/<name>/`. @throws Error when a function has no asset.
 */
function buildInto(target: string, root: string): void {
  const outdir = mkdtempSync(join(root, '.build', 'synth-'));
  try {
    const { app, stack } = createApp({ bundle: true, nag: false, cfnValidation: false, outdir, context: BUNDLING_CONTEXT, projectRoot: root });
    const assembly = app.synth();
    const template = assembly.getStackByName(stack.stackName).template as CfnTemplate;
    const found = new Set<FunctionName>();
    for (const resource of Object.values(template.Resources)) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const name = functionNameOf(resource);
      const key = (resource.Properties?.Code as { S3Key?: unknown } | undefined)?.S3Key;
      if (!name || typeof key !== 'string') continue;
      const asset = join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
      if (!existsSync(join(asset, 'index.mjs'))) throw new Error(`The asset of ${name} has no index.mjs`);
      cpSync(asset, join(target, name), { recursive: true });
      found.add(name);
    }
    const missing = FUNCTION_NAMES.filter((n) => !found.has(n));
    if (missing.length > 0) throw new Error(`No bundle was synthesized for ${missing.join(', ')}`);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * The deployed bundles of the current sources: built by a bundling synth on first use, then
 * reused while no build input changes. Safe when several processes ask at once (each builds
 * into its own directory and the first rename wins). Older builds are removed.
 * @throws Error when the synth fails (a type error in a handler shows here as an esbuild error).
 */
export function ensureLambdaBundles(options: { root?: string; logger?: Logger } = {}): LambdaBundles {
  const root = options.root ?? PROJECT_ROOT;
  const hash = bundleInputsHash(root);
  const base = join(root, '.build', 'lambda-bundles');
  const dir = join(base, hash);
  if (!existsSync(join(dir, MANIFEST))) {
    mkdirSync(base, { recursive: true });
    const started = Date.now();
    const building = mkdtempSync(join(base, `${hash}.building-`));
    try {
      buildInto(building, root);
      writeFileSync(join(building, MANIFEST), JSON.stringify({ hash, functions: FUNCTION_NAMES, builtAt: new Date().toISOString() }, null, 2));
      try {
        renameSync(building, dir);
      } catch (error) {
        // Another process finished the same build first: theirs is as good as ours.
        if (!existsSync(join(dir, MANIFEST))) throw error;
      }
    } finally {
      rmSync(building, { recursive: true, force: true });
    }
    options.logger?.info('lambda bundles built', { hash, ms: Date.now() - started });
    for (const old of readdirSync(base)) {
      const path = join(base, old);
      // Builds of other sources, and abandoned build directories older than ten minutes.
      if (old !== hash && !old.startsWith(`${hash}.`) && (!old.includes('.building-') || Date.now() - statSync(path).mtimeMs > 600_000)) {
        rmSync(path, { recursive: true, force: true });
      }
    }
  }
  return { dir, hash, entry: (name) => join(dir, name, 'index.mjs') };
}
