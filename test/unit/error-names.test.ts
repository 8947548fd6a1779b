/**
 * Error names are an interface: the state machine's `Retry`/`Catch`, the record-outcome task and
 * the staff pages match errors by `name`. The stack deploys minified bundles in which esbuild
 * renames classes, so a name taken from the class (`new.target.name`) would be something like
 * `ir` in AWS. Every error class must therefore set its name as a string literal in its own
 * constructor. The bundles themselves are checked in test/infra/error-names-bundled.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sourceFiles } from '../support/source-files';

const ROOT = join(import.meta.dirname, '..', '..');
const FUNCTIONS = join(ROOT, 'functions');

interface DeclaredError {
  file: string;
  name: string;
  exported: boolean;
}

/** Every class under functions/ that extends an error class (by the `…Error`/`HttpProblem` convention or `Error` itself). */
function declaredErrors(): DeclaredError[] {
  return sourceFiles(FUNCTIONS).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/^(export )?class (\w+) extends (\w+)\b/gm)]
      .filter((m) => /Error$/.test(m[3]!))
      .map((m) => ({ file, name: m[2]!, exported: m[1] !== undefined })),
  );
}

/**
 * Errors that carry another error's name on purpose: TaskError is the Step Functions-visible twin
 * of whatever a task threw, named as the original (whose own class sets its literal name).
 */
const CARRIERS = new Set(['TaskError']);
const declared = declaredErrors().filter((d) => !CARRIERS.has(d.name));
const exported = declared.filter((d) => d.exported);

/** Arguments every constructor accepts (extra ones are ignored by the shorter signatures). */
const ARGS: Record<string, unknown[]> = {
  HttpProblem: [{ type: 'about:blank', title: 'Bad request', status: 400 }],
  IllegalTransitionError: ['COMPLETED', 'QUEUED'],
  IneligibleSubjectError: ['BOT_OWNER', ['st-1']],
};

describe('error names', () => {
  it('finds the error classes of every area (domain, workflow, adapters, intake, staff)', () => {
    const names = declared.map((d) => d.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'DomainError',
        'KoreRetryableError',
        'KoreRefusedError',
        'IneligibleSubjectError',
        'StoreUnavailableError',
        'ConfigurationError',
        'ChainTamperedError',
        'LinkExpiredError',
        'StaffAuthConfigError',
      ]),
    );
    expect(declared.length).toBeGreaterThanOrEqual(45);
  });

  it.each(declared.map((d) => [d.name, relative(ROOT, d.file)] as const))(
    '%s (%s) sets its name as a literal in its own constructor',
    (name, file) => {
      const source = readFileSync(join(ROOT, file), 'utf8');
      const start = source.search(new RegExp(`class ${name} extends \\w+ \\{`));
      const next = source.slice(start + 1).search(/\n(export )?(class|function|const|interface|type) /);
      const body = next < 0 ? source.slice(start) : source.slice(start, start + 1 + next);
      expect(body).toMatch(new RegExp(`(this\\.name|name)\\s*=\\s*'${name}';`));
      expect(body).not.toMatch(/new\.target\.name|constructor\.name/);
    },
  );

  it.each(exported.map((d) => [d.name, relative(ROOT, d.file)] as const))('new %s(…).name is its literal name (%s)', async (name, file) => {
    const mod = (await import(pathToFileURL(join(ROOT, file)).href)) as Record<string, new (...args: unknown[]) => Error>;
    const ErrorClass = mod[name]!;

    const error = new ErrorClass(...(ARGS[name] ?? ['a message', 400]));

    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(Object.hasOwn(error, 'name')).toBe(true);
  });

  it('lets TaskError carry the name of the error it stands for', async () => {
    const { TaskError } = await import('../../functions/adapters/aws/step-functions-task');
    expect(new TaskError('KoreRetryableError', 'KoreRetryableError').name).toBe('KoreRetryableError');
  });

  it('keeps the literal name when the class itself is renamed, as a minifier does', async () => {
    const { KoreRetryableError } = await import('../../functions/domain/kore');
    const Renamed = class ir extends KoreRetryableError {};

    expect(new Renamed('throttled', 429, undefined).name).toBe('KoreRetryableError');
  });
});
