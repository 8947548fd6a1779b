/**
 * Small, sharp modules: a file of functions/ longer than about 300 lines says why in its header
 * comment ("… 300 lines on purpose: …"), so a growing module is a decision, not an accident.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourceFiles } from '../support/source-files';

const ROOT = join(import.meta.dirname, '..', '..');
const LIMIT = 300;

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
