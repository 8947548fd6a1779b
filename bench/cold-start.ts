/**
 * 5. Cold start: every Lambda entry (`functions/*.ts`) bundled with the stack's esbuild settings
 *    (`BUNDLING` in infra/constructs/functions.ts: ESM, node22, minified, `@aws-sdk/*` external,
 *    the createRequire banner), its minified size (goal ≤ 300 KB), and the time to import it in a
 *    fresh Node process (the Lambda INIT phase: module load and module-scope SDK clients) against
 *    a hello-world handler that statically imports the same SDK packages and creates their clients.
 *    The esbuild metafile names what makes the bundles big.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { BUNDLING } from '../infra/constructs/functions';
import { median, PROJECT_ROOT, row, type BenchContext, type Row } from './lib';

const OUT_DIR = join(PROJECT_ROOT, 'node_modules', '.cache', 'erasure-desk-bench', 'bundles');

/** What a bundle's bytes come from: a package under node_modules, or a folder of ours. */
function origin(input: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  if (pkg) return pkg[1]!;
  const ours = /^(functions\/(?:[^/]+\/)?)/.exec(input);
  return ours ? `${ours[1]} (ours)` : input;
}

async function bundle(name: string): Promise<{ file: string; bytes: number; sdkPackages: string[]; byOrigin: Map<string, number> }> {
  const dir = join(OUT_DIR, name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'index.mjs');
  const result = await build({
    entryPoints: [join(PROJECT_ROOT, 'functions', `${name}.ts`)],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: BUNDLING.target ?? 'node22',
    minify: BUNDLING.minify ?? true,
    sourcemap: BUNDLING.sourceMap ? 'external' : false,
    sourcesContent: BUNDLING.sourcesContent ?? false,
    mainFields: BUNDLING.mainFields ?? ['module', 'main'],
    external: BUNDLING.externalModules ?? ['@aws-sdk/*'],
    banner: BUNDLING.banner ? { js: BUNDLING.banner } : undefined,
    metafile: true,
    logLevel: 'silent',
  });
  const meta: Metafile = result.metafile;
  const output = Object.entries(meta.outputs).find(([path]) => path.endsWith('index.mjs'))![1];
  const byOrigin = new Map<string, number>();
  for (const [input, info] of Object.entries(output.inputs)) byOrigin.set(origin(input), (byOrigin.get(origin(input)) ?? 0) + info.bytesInOutput);
  const sdkPackages = [...new Set(output.imports.filter((i) => i.external && i.kind === 'import-statement' && i.path.startsWith('@aws-sdk/')).map((i) => i.path))];
  return { file, bytes: statSync(file).size, sdkPackages, byOrigin };
}

/** The baseline: a handler that only imports the same SDK packages and creates their clients. */
function helloWorld(name: string, sdkPackages: string[]): string {
  mkdirSync(join(OUT_DIR, name), { recursive: true });
  const file = join(OUT_DIR, name, 'hello.mjs');
  const imports = sdkPackages.map((p, i) => `import * as m${i} from '${p}';`).join('\n');
  writeFileSync(
    file,
    `${imports}
const modules = [${sdkPackages.map((_, i) => `m${i}`).join(', ')}];
const clients = [];
let ddb;
for (const m of modules) for (const [k, v] of Object.entries(m)) {
  if (/^[A-Z]\\w*Client$/.test(k) && k !== 'DynamoDBDocumentClient' && typeof v === 'function' && v.prototype && typeof v.prototype.send === 'function') {
    const c = new v({}); clients.push(c); if (k === 'DynamoDBClient') ddb = c;
  }
}
for (const m of modules) if (m.DynamoDBDocumentClient) clients.push(m.DynamoDBDocumentClient.from(ddb));
export const handler = async () => ({ statusCode: 200, body: 'hello' });
`,
  );
  return file;
}

/** ms to import `file` in a fresh Node process (module load + module-scope work). */
function importTime(file: string): number {
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', `const t0 = performance.now(); await import(${JSON.stringify(file)}); process.stdout.write(String(performance.now() - t0));`], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x', POWERTOOLS_SERVICE_NAME: 'bench', LOG_LEVEL: 'WARN' },
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(`import of ${file} failed: ${out.stderr.slice(0, 500)}`);
  return Number(out.stdout);
}

export async function coldStartBench(ctx: BenchContext): Promise<Row[]> {
  rmSync(OUT_DIR, { recursive: true, force: true });
  const names = readdirSync(join(PROJECT_ROOT, 'functions'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
  const rounds = ctx.quick ? 1 : 5;
  // Quick: every bundle is built and sized, the import is timed for the public API only.
  const timed = new Set(ctx.quick ? ['public-api'] : names);
  const rows: Row[] = [];
  const totals = new Map<string, number>();
  let publicApiImport: number | undefined;
  for (const name of names) {
    const b = await bundle(name);
    const hello = helloWorld(name, b.sdkPackages);
    rows.push(row(`cold start: ${name} bundle size`, b.bytes / 1024, null, 'KB', 'value ≤ 300'));
    for (const [o, n] of b.byOrigin) totals.set(o, (totals.get(o) ?? 0) + n / names.length);
    const top = [...b.byOrigin].sort((x, y) => y[1] - x[1]).slice(0, 4).map(([o, n]) => `${o} ${(n / 1024).toFixed(0)} KB`).join(', ');
    if (!timed.has(name)) {
      ctx.log(`  ${name}: ${(b.bytes / 1024).toFixed(0)} KB [${top}]`);
      continue;
    }
    const fn: number[] = [];
    const base: number[] = [];
    importTime(b.file); // the first run of a file pays the disk cache
    importTime(hello);
    for (let i = 0; i < rounds; i++) {
      fn.push(importTime(b.file));
      base.push(importTime(hello));
    }
    ctx.log(`  ${name}: ${(b.bytes / 1024).toFixed(0)} KB [${top}]; SDK: ${b.sdkPackages.join(' ') || 'none'}; import ${median(fn).toFixed(0)} ms vs ${median(base).toFixed(0)} ms`);
    rows.push(row(`cold start: ${name} import vs hello-world with same SDK clients`, median(fn), median(base), 'ms', '≤ 1.3'));
    if (name === 'public-api') publicApiImport = median(fn);
  }
  // What the public API needs at init is DynamoDB only; every bundle imports all SDK clients statically.
  const lean = helloWorld('dynamodb-only', ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb']);
  importTime(lean);
  const leanTimes = Array.from({ length: rounds }, () => importTime(lean));
  if (publicApiImport !== undefined) rows.push(row('cold start: public-api import vs hello-world with DynamoDB client only', publicApiImport, median(leanTimes), 'ms'));
  const top = [...totals].sort((x, y) => y[1] - x[1]).slice(0, 10);
  ctx.log(`  average bytes per bundle by origin: ${top.map(([o, n]) => `${o} ${(n / 1024).toFixed(0)} KB`).join(', ')}`);
  return rows;
}
