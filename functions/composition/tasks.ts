/**
 * What the Step Functions task functions (submit-erasure, check-erasure-status, record-outcome)
 * share: the erasure tasks' deps. Whatever a task throws reaches Step Functions as its name only
 * (see adapters/aws/step-functions-task).
 */
import type { Logger } from '../domain/ports';
import type { ErasureTaskDeps } from '../workflow/task-deps';
import type { ApplicationAdapters } from './adapters';
import { noticesOf, type IntakeAdapters } from './intake';

export type TaskAdapters = IntakeAdapters & Pick<ApplicationAdapters, 'kore' | 'budget' | 'batching'>;
export type Task<T> = (input: unknown) => Promise<T>;

export function taskDepsOf(a: TaskAdapters): { deps: ErasureTaskDeps; logger: Logger } {
  const deps: ErasureTaskDeps = {
    store: a.store,
    snapshots: a.snapshots,
    kore: a.kore,
    claims: a.claims,
    notices: noticesOf(a),
    clock: a.clock,
    subjectKeys: a.subjectKeys,
    poll: a.settings.poll,
    snapshotMaxAgeSeconds: a.settings.snapshotMaxAgeSeconds,
    ...(a.budget ? { budget: a.budget } : {}),
    ...(a.batching ? { batching: a.batching } : {}),
    verification: a.settings.verification,
  };
  return { deps, logger: a.logger };
}
