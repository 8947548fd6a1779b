/**
 * The local Step Functions: runs the synthesized definition with aws-local-stepfunctions, its Lambda
 * tasks mapped to the local handlers by state name. Behaves like the service where the system
 * relies on it: execution names are unique (a second start of `<requestId>-<attempt>` is a no-op),
 * stopped executions can be redriven, and the list of executions survives a restart (those that
 * were running when the process died come back as ABORTED, for the sweeper to redrive).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import type { ExecutionState, Logger, WorkflowStarter } from '../../functions/domain/ports';

export type TaskHandler = (input: unknown) => Promise<unknown>;

export interface LocalWorkflowOptions {
  definition: Record<string, unknown>;
  /** State name → handler, for every Task state. */
  handlers: Record<string, TaskHandler>;
  /** Where the execution list is kept (JSON); in memory only when absent. */
  journalPath?: string;
  /** Retry intervals of Task states, in ms (compresses the definition's seconds for local runs). */
  retryIntervalMs?: number;
  logger?: Logger;
}

interface ExecutionRecord {
  name: string;
  input: { requestId: string; attempt: number };
  state: ExecutionState;
  startedAt: string;
  stoppedAt?: string;
  error?: string;
  runs: number;
}

export class LocalWorkflow implements WorkflowStarter {
  readonly #machine: StateMachine;
  readonly #options: LocalWorkflowOptions;
  readonly #executions = new Map<string, ExecutionRecord>();
  readonly #running = new Map<string, { abort: () => void; done: Promise<void> }>();
  #stopped = false;

  constructor(options: LocalWorkflowOptions) {
    this.#options = options;
    this.#machine = new StateMachine(options.definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
    if (options.journalPath) mkdirSync(dirname(options.journalPath), { recursive: true });
    if (options.journalPath && existsSync(options.journalPath)) {
      // One JSON line per change; the last line of an execution wins. A torn last line (a kill
      // mid-write) is skipped.
      const saved = new Map<string, ExecutionRecord>();
      for (const line of readFileSync(options.journalPath, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        try {
          const record = JSON.parse(line) as ExecutionRecord;
          saved.set(record.name, record);
        } catch {
          // torn write
        }
      }
      for (const record of saved.values()) {
        // Whatever was running when the last process stopped did not finish.
        if (record.state === 'RUNNING') Object.assign(record, { state: 'ABORTED', stoppedAt: new Date().toISOString(), error: 'ProcessStopped' });
        this.#executions.set(record.name, record);
      }
      this.#compact();
    }
  }

  static executionName(requestId: string, attempt: number): string {
    return `${requestId}-${attempt}`;
  }

  async startErasure(requestId: string, attempt: number): Promise<{ started: boolean; executionId: string }> {
    const name = LocalWorkflow.executionName(requestId, attempt);
    return { started: this.start(name, { requestId, attempt }).created, executionId: name };
  }

  /** Starts an execution unless one of that name exists (names are unique, as in the service). */
  start(name: string, input: unknown): { created: boolean; startedAt: string; input: unknown } {
    const existing = this.#executions.get(name);
    if (existing || this.#stopped) return { created: false, startedAt: existing?.startedAt ?? new Date().toISOString(), input: existing?.input ?? input };
    const record: ExecutionRecord = { name, input: input as ExecutionRecord['input'], state: 'RUNNING', startedAt: new Date().toISOString(), runs: 0 };
    this.#executions.set(name, record);
    this.#run(record);
    return { created: true, startedAt: record.startedAt, input };
  }

  /** One execution by name, or undefined. */
  describe(name: string): ExecutionRecord | undefined {
    const record = this.#executions.get(name);
    return record ? { ...record } : undefined;
  }

  /** Stops a running execution (ABORTED, as StopExecution does). */
  async stopExecution(name: string): Promise<void> {
    const record = this.#executions.get(name);
    const running = this.#running.get(name);
    if (!record || record.state !== 'RUNNING' || !running) return;
    running.abort();
    await running.done;
  }

  async isRunning(requestId: string, attempt: number): Promise<boolean> {
    return (await this.executionState(requestId, attempt)) === 'RUNNING';
  }

  async executionState(requestId: string, attempt: number): Promise<ExecutionState> {
    return this.#executions.get(LocalWorkflow.executionName(requestId, attempt))?.state ?? 'NONE';
  }

  /** @throws Error when the execution does not exist or is still running (as the service does). */
  async redrive(requestId: string, attempt: number): Promise<void> {
    return this.redriveExecution(LocalWorkflow.executionName(requestId, attempt));
  }

  /** @throws Error `ExecutionDoesNotExist`, or `ExecutionNotRedrivable` while it runs or after it succeeded. */
  async redriveExecution(name: string): Promise<void> {
    const record = this.#executions.get(name);
    if (!record) throw new Error('ExecutionDoesNotExist');
    if (record.state === 'RUNNING' || record.state === 'SUCCEEDED') throw new Error('ExecutionNotRedrivable');
    if (this.#stopped) return;
    Object.assign(record, { state: 'RUNNING', stoppedAt: undefined, error: undefined });
    this.#run(record);
  }

  /** Every execution, for the console and tests. */
  list(): ExecutionRecord[] {
    return [...this.#executions.values()].map((r) => ({ ...r }));
  }

  /** Resolves once no execution is running (tests use it to wait for quiet). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running.values()].map((r) => r.done));
  }

  /** Aborts running executions; they stay RUNNING in the journal, as after a crash. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const running = [...this.#running.values()];
    for (const r of running) r.abort();
    await Promise.allSettled(running.map((r) => r.done));
  }

  #run(record: ExecutionRecord): void {
    record.runs++;
    this.#save(record);
    const retryOverrides: Record<string, number> = {};
    if (this.#options.retryIntervalMs !== undefined) {
      for (const name of Object.keys(this.#options.handlers)) retryOverrides[name] = this.#options.retryIntervalMs;
    }
    const execution = this.#machine.run(record.input, {
      overrides: { taskResourceLocalHandlers: this.#options.handlers as never, retryIntervalOverrides: retryOverrides },
      noThrowOnAbort: true,
      context: { Execution: { Name: record.name, Input: record.input, StartTime: record.startedAt } } as never,
    });
    const done = execution.result.then(
      (result) => {
        if (result === null) {
          if (this.#stopped) return; // aborted by stop(): left RUNNING, like a crash
          return this.#finish(record, 'ABORTED', 'StoppedByUser'); // StopExecution
        }
        this.#finish(record, 'SUCCEEDED');
      },
      (error: Error) => {
        if (this.#stopped) return;
        const state: ExecutionState = error.name === 'ExecutionTimeoutError' ? 'TIMED_OUT' : error.name === 'ExecutionAbortedError' ? 'ABORTED' : 'FAILED';
        // The emulator wraps what failed the execution; the service reports that error's name
        // (a Fail state's Error, or an uncaught task error).
        const cause = error.name === 'ExecutionError' && error.cause instanceof Error ? error.cause.name : error.name;
        this.#finish(record, state, cause);
      },
    );
    this.#running.set(record.name, { abort: execution.abort, done });
    void done.finally(() => this.#running.delete(record.name));
  }

  #finish(record: ExecutionRecord, state: ExecutionState, error?: string): void {
    Object.assign(record, { state, stoppedAt: new Date().toISOString(), error });
    this.#options.logger?.info('execution ended', { execution: record.name, state, ...(error ? { error } : {}) });
    this.#save(record);
  }

  #save(record: ExecutionRecord): void {
    const path = this.#options.journalPath;
    if (!path || this.#stopped) return;
    appendFileSync(path, `${JSON.stringify(record)}\n`);
  }

  /** Rewrites the journal with one line per execution. */
  #compact(): void {
    const path = this.#options.journalPath!;
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, [...this.#executions.values()].map((r) => `${JSON.stringify(r)}\n`).join(''));
    renameSync(tmp, path);
  }
}
