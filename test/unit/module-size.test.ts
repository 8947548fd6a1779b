/**
 * Small, sharp modules: a file of functions/ longer than about 300 lines says why in its header
 * comment ("… 300 lines on purpose: …"), so a growing module is a decision, not an accident.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const LIMIT = 300;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The first block comment of a file: its header. */
const headerOf = (text: string) => /^\s*\/\*\*?([\s\S]*?)\*\//.exec(text)?.[1] ?? '';

describe('module size', () => {
  it(`keeps every file of functions/ under ${LIMIT} lines, or says in its header why it is longer`, () => {
    const unexplained = sourceFiles(join(ROOT, 'functions'))
      .map((path) => ({ file: relative(ROOT, path), text: readFileSync(path, 'utf8') }))
      .filter(({ text }) => text.split('\n').length > LIMIT && !/300 lines on purpose: \S/.test(headerOf(text)))
      .map(({ file, text }) => `${file} (${text.split('\n').length} lines)`);
    expect(unexplained).toEqual([]);
  });
});
