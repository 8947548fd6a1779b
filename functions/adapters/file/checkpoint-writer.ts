/**
 * The local checkpoint store: one file per checkpoint under a directory, written once (`wx`), so
 * the local runtime cannot silently rewrite a checkpoint (S3 Object Lock plays this part in AWS).
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckpointWriter } from '../../staff/checkpoints';

/** A checkpoint with that key exists already: checkpoints are never overwritten. */
export class CheckpointExistsError extends Error {
  constructor(readonly key: string) {
    super('A checkpoint with this key exists already');
    this.name = 'CheckpointExistsError';
  }
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

/**
 * Append-only checkpoint files in `dir` (created when missing).
 * `put` throws CheckpointExistsError for an existing key and RangeError for a key that is not a
 * plain file name; `list` names every file there (trust is decided by the reader, from content);
 * `get` returns a file's text, or undefined when it is gone or is not a file.
 */
export function createFileCheckpointWriter(dir: string): CheckpointWriter {
  return {
    async put(key, body) {
      if (!KEY.test(key) || key.includes('..')) throw new RangeError('A checkpoint key must be a plain file name');
      await mkdir(dir, { recursive: true });
      try {
        await writeFile(join(dir, key), body, { flag: 'wx', mode: 0o444 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new CheckpointExistsError(key);
        throw error;
      }
    },
    async list(startAfter) {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
      return names.filter((n) => startAfter === undefined || n > startAfter).sort();
    },
    async get(key) {
      if (!KEY.test(key) || key.includes('..')) return undefined;
      try {
        return await readFile(join(dir, key), 'utf8');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'EISDIR') return undefined;
        throw error;
      }
    },
  };
}
