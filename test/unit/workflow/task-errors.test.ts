import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KoreRetryableError } from '../../../functions/domain/kore';
import { IneligibleSubjectError } from '../../../functions/domain/errors';
import { runTask, toTaskError } from '../../../functions/adapters/aws/step-functions-task';
import { recordingLogger } from '../../support/recording-logger';

const EMAIL = 'alice.subject@example.com';

describe('errors leaving a workflow task', () => {
  it('keep the name Retry and Catch match on, and nothing of the message', () => {
    const error = toTaskError(new KoreRetryableError(`Kore.ai answered 500 for ${EMAIL}`, 500, 1000));
    expect(error.name).toBe('KoreRetryableError');
    expect(error.message).toBe('KoreRetryableError');
    expect(error.stack).not.toContain(EMAIL);
    expect(JSON.stringify({ errorType: error.name, errorMessage: error.message, trace: error.stack?.split('\n') })).not.toContain(EMAIL);
  });

  it('keep the stack frames (code locations) but drop every message line, also of multi-line messages', () => {
    const original = new TypeError(`Cannot read "x" of ${EMAIL}\nsecond line ${EMAIL}`);
    const error = toTaskError(original);
    expect(error.name).toBe('TypeError');
    const lines = error.stack!.split('\n');
    expect(lines[0]).toBe('TypeError: TypeError');
    expect(lines.slice(1).every((l) => /^\s+at /.test(l))).toBe(true);
    expect(lines.length).toBeGreaterThan(1);
    expect(error.stack).not.toContain(EMAIL);
  });

  it('carry the rule and bot ids of an ineligible subject, which RecordRejected reads back from Cause', () => {
    const error = toTaskError(new IneligibleSubjectError('BOT_OWNER', ['st-1', 'st-2']));
    expect(error.name).toBe('IneligibleSubjectError');
    expect(JSON.parse(error.message)).toEqual({ rule: 'BOT_OWNER', botIds: ['st-1', 'st-2'] });
  });

  it('drop the bot ids of an ineligible subject when they are not plain ids', () => {
    const error = toTaskError(new IneligibleSubjectError('BOT_OWNER', [`bot of ${EMAIL}`]));
    expect(error.message).toBe('IneligibleSubjectError');
  });

  it('name anything that is not an Error, or whose name is not an identifier, Error', () => {
    expect(toTaskError(`thrown string ${EMAIL}`)).toMatchObject({ name: 'Error', message: 'Error' });
    expect(toTaskError({ name: EMAIL })).toMatchObject({ name: 'Error', message: 'Error' });
    expect(toTaskError(Object.assign(new Error('x'), { name: EMAIL }))).toMatchObject({ name: 'Error', message: 'Error' });
  });

  it('never carry any text of the original, whatever it is', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 6 }), fc.constantFrom('Error', 'TypeError', 'StoreError', 'KorePermanentError'), (text, name) => {
        const secret = `<<${text}>>`;
        const error = toTaskError(Object.assign(new Error(secret), { name }));
        expect(error.message).toBe(name);
        expect(error.stack).not.toContain(secret);
      }),
    );
  });

  it('are logged by task, request id, attempt and name, and thrown sanitized, also when the task throws synchronously', async () => {
    const logger = recordingLogger();
    const failing = runTask(
      'SubmitErasure',
      { requestId: 'req-1', attempt: 2 },
      () => {
        throw new Error(`refused ${EMAIL}`);
      },
      logger,
    );
    await expect(failing).rejects.toMatchObject({ name: 'Error', message: 'Error' });
    expect(logger.lines).toEqual([{ level: 'warn', message: 'workflow task failed', task: 'SubmitErasure', requestId: 'req-1', attempt: 2, error: 'Error' }]);
    await expect(runTask('CheckStatus', null, async () => 'ok')).resolves.toBe('ok');
  });
});
