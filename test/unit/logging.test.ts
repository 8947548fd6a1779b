/**
 * One logger port: every use case, adapter and entry logs through the domain's `Logger`
 * (Powertools underneath in AWS, JSON lines in the local runtime, an array in tests). These checks
 * read the source so a second log shape cannot come back unnoticed.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loggerOver, silentLogger, type LogEntry } from '../../functions/domain/ports';
import { sourceFiles } from '../support/source-files';

const ROOT = join(import.meta.dirname, '..', '..');

const rel = (path: string) => relative(ROOT, path).split('\\').join('/');
const FUNCTIONS = sourceFiles(join(ROOT, 'functions')).map((path) => ({ file: rel(path), text: readFileSync(path, 'utf8') }));
const LOCAL = sourceFiles(join(ROOT, 'infra', 'local')).map((path) => ({ file: rel(path), text: readFileSync(path, 'utf8') }));
/** Command-line tools print for a person at a terminal; that is their output, not a log. */
const COMMAND_LINE = /^functions\/cli\/|^infra\/local\/(start|kore-sim-cli)\.ts$/;

describe('the logger port', () => {
  it('writes each line to its sink as level, message and data, the data never overriding the level or message', () => {
    const lines: LogEntry[] = [];
    const logger = loggerOver((entry) => void lines.push(entry));
    logger.info('started', { requestId: 'req-1' });
    logger.warn('slow', { ms: 1200 });
    logger.error('failed', { level: 'debug', message: 'spoofed', error: 'TypeError' });
    expect(lines).toEqual([
      { level: 'info', message: 'started', requestId: 'req-1' },
      { level: 'warn', message: 'slow', ms: 1200 },
      { level: 'error', message: 'failed', error: 'TypeError' },
    ]);
    expect(() => silentLogger.error('nothing')).not.toThrow();
  });

  it('is the only log shape in functions/: no other log function type is declared', () => {
    const offenders = FUNCTIONS.filter(({ text }) => /\blog\??\s*:\s*\(|type Log\b|interface \w*Log\b/.test(text)).map(({ file }) => file);
    expect(offenders).toEqual([]);
  });

  it('is the only way code outside the command line writes: no console.log or console.error', () => {
    const offenders = [...FUNCTIONS, ...LOCAL].filter(({ file, text }) => !COMMAND_LINE.test(file) && /\bconsole\.(log|info|warn|error)\(/.test(text)).map(({ file }) => file);
    expect(offenders).toEqual([]);
  });

  it('has Powertools underneath in one module: only the entries take its middleware', () => {
    const importers = FUNCTIONS.filter(({ text }) => /from '@aws-lambda-powertools\/logger'/.test(text)).map(({ file }) => file);
    expect(importers).toEqual(['functions/adapters/aws/logger.ts']);
    const middleware = FUNCTIONS.filter(({ text }) => /@aws-lambda-powertools\/logger\/middleware/.test(text)).map(({ file }) => file);
    expect(middleware.every((file) => /^functions\/[a-z-]+\.ts$/.test(file))).toBe(true);
  });
});
