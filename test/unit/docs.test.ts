/**
 * The docs a user reads stay short, truthful in their links and free of run narrative: the README
 * is a front door of at most ~12 KB, every relative link in it and in docs/*.md names a file that
 * exists, and the README tells what the system is, not how past runs went.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const README = join(ROOT, 'README.md');
const DOCS = readdirSync(join(ROOT, 'docs'))
  .filter((name) => name.endsWith('.md'))
  .map((name) => join(ROOT, 'docs', name));

/** The README's budget in bytes (~12 KB). */
const README_MAX_BYTES = 12_500;

/** Phrases of a run log, not of product docs. */
const RUN_NARRATIVE = ['the run before', 'found on the way', 'this session', 'last session', 'in earlier runs', 'found and fixed'];

/** Relative targets of Markdown links and images and of HTML src/href attributes, code blocks left out. */
function relativeLinks(markdown: string): string[] {
  const text = markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
  const targets = [
    ...[...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!),
    ...[...text.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!),
  ];
  return targets
    .filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t) && !t.startsWith('#'))
    .map((t) => decodeURI(t.split('#')[0]!));
}

describe('the docs', () => {
  it(`keeps the README at most ${README_MAX_BYTES} bytes`, () => {
    expect(statSync(README).size).toBeLessThanOrEqual(README_MAX_BYTES);
  });

  it('links only to files that exist, from the README and every docs/*.md', () => {
    const broken: string[] = [];
    for (const file of [README, ...DOCS]) {
      for (const target of relativeLinks(readFileSync(file, 'utf8'))) {
        if (!existsSync(resolve(dirname(file), target))) broken.push(`${relative(ROOT, file)} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('finds the links it checks: Markdown links, images and HTML attributes, not code', () => {
    const links = relativeLinks('[a](docs/A.md#x) ![i](s.png "t") <img src="p.png"> [w](https://x.org) [h](#top) `[c](no.md)`\n```\n[d](no2.md)\n```\n');
    expect(links).toEqual(['docs/A.md', 's.png', 'p.png']);
  });

  it('keeps the README free of run narrative', () => {
    const readme = readFileSync(README, 'utf8').toLowerCase();
    for (const phrase of RUN_NARRATIVE) expect(readme, `README says "${phrase}"`).not.toContain(phrase);
  });

  it('holds no merge conflict markers in the README, the docs or the code', () => {
    const marker = /^(<{7}|={7}|>{7})( |$)/m;
    const files = [README, ...DOCS, ...sourceFiles(['functions', 'infra', 'test', 'bench'])];
    expect(files.length).toBeGreaterThan(100);
    expect(files.filter((file) => marker.test(readFileSync(file, 'utf8'))).map((file) => relative(ROOT, file))).toEqual([]);
  });
});

/** Every .ts, .mjs and .md file under the given top-level folders. */
function sourceFiles(folders: string[]): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|mjs|md)$/.test(name)) found.push(path);
    }
  };
  for (const folder of folders) walk(join(ROOT, folder));
  return found;
}
