/**
 * The local Lambda service: every function of the synthesized template runs its deployed bundle
 * in worker threads of its own (containers, started on demand and kept warm, each running one
 * invocation at a time as in Lambda), with
 * exactly the environment the template gives it, its CloudFormation references resolved to the
 * local stand-ins of the same resources, plus what the Lambda runtime itself provides.
 *
 * Where local differs from AWS, by name (each is tested):
 * - `AWS_ENDPOINT_URL_*` point the SDK at the local stand-ins (absent in AWS);
 * - `LOCAL_SEAMS` replaces the values that name hosts outside the stack (Kore.ai, the staff
 *   token issuer) with their local counterparts;
 * - a function runs at most `concurrency` containers (4 by default); an invocation beyond waits
 *   for a free one, where Lambda would throttle it and the caller would try again;
 * - tests may move every container's clock forward (`clockOffset`);
 * - `LOCAL_LAMBDA_DEBUG=1` in the runtime's own environment reaches the containers, which then
 *   print a failing invocation's stack (a debugging aid, off by default).
 */
import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import type { FunctionName } from '../constructs/functions';
import type { CfnTemplate } from '../synth';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './aws/aws-stand-ins';
import { functionNameOf, type LambdaBundles } from './lambda-bundles';
import type { ENV } from '../../functions/adapters/env/variables';

type CfnValue = unknown;

/** How a template reference resolves locally: by resource type, the stand-in's identifier. */
export function localReference(template: CfnTemplate, logicalId: string, attribute: string | undefined, apiUrl: string): string {
  const type = template.Resources[logicalId]?.Type;
  const arn = (service: string, resource: string) => `arn:aws:${service}:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${resource}`;
  switch (`${type}${attribute ? `.${attribute}` : ''}`) {
    case 'AWS::DynamoDB::Table':
      return LOCAL_TABLE_NAME;
    case 'AWS::SecretsManager::Secret':
      return arn('secretsmanager', `secret:${logicalId}`);
    case 'AWS::KMS::Key':
      return `local-${logicalId}`;
    case 'AWS::S3::Bucket':
      return `local-${logicalId.toLowerCase()}`;
    case 'AWS::StepFunctions::StateMachine':
      return arn('states', `stateMachine:${logicalId}`);
    case 'AWS::Lambda::Function.Arn':
      return arn('lambda', `function:${logicalId}`);
    case 'AWS::Lambda::Function':
      return logicalId;
    case 'AWS::ApiGatewayV2::Api.ApiEndpoint':
      return apiUrl;
    case 'AWS::Cognito::UserPool':
    case 'AWS::Cognito::UserPoolClient':
      return `local-${logicalId}`;
    default:
      throw new Error(`No local stand-in for ${logicalId} (${type}${attribute ? `.${attribute}` : ''})`);
  }
}

/** The audit table's name locally (the template's `Ref` of the table). */
export const LOCAL_TABLE_NAME = 'erasure-desk-audit';

/** Resolves the intrinsic functions that appear in function environments. */
export function resolveCfnValue(template: CfnTemplate, value: CfnValue, apiUrl: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string') {
    if (v.Ref === 'AWS::Region') return LOCAL_REGION;
    if (v.Ref === 'AWS::AccountId') return LOCAL_ACCOUNT;
    if (v.Ref === 'AWS::Partition') return 'aws';
    if (v.Ref === 'AWS::URLSuffix') return 'amazonaws.com';
    return localReference(template, v.Ref, undefined, apiUrl);
  }
  if (Array.isArray(v['Fn::GetAtt'])) {
    const [logicalId, attribute] = v['Fn::GetAtt'] as [string, string];
    return localReference(template, logicalId, attribute, apiUrl);
  }
  if (Array.isArray(v['Fn::Join'])) {
    const [separator, parts] = v['Fn::Join'] as [string, CfnValue[]];
    return parts.map((p) => resolveCfnValue(template, p, apiUrl)).join(separator);
  }
  throw new Error(`Unsupported intrinsic in a function environment: ${Object.keys(v).join(',')}`);
}

/** One deployed function as the template describes it. */
export interface TemplateFunction {
  name: FunctionName;
  logicalId: string;
  /** The template's variables, references resolved, seams applied. */
  environment: Record<string, string>;
  timeoutSeconds: number;
  memorySize: number;
  handler: string;
}

/** Values that name hosts outside the stack, replaced by their local counterparts. */
export type LocalSeams = Partial<Record<(typeof ENV)['KORE_BASE_URL' | 'STAFF_ISSUER' | 'STAFF_AUDIENCE' | 'STAFF_JWKS_URL'], string>>;

/**
 * Every Lambda function of the template with its environment resolved for the local runtime.
 * @throws Error when a function's environment refers to something without a local stand-in.
 */
export function templateFunctions(template: CfnTemplate, apiUrl: string, seams: LocalSeams): TemplateFunction[] {
  const out: TemplateFunction[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const name = functionNameOf(resource);
    if (!name) continue;
    const props = resource.Properties ?? {};
    const variables = ((props.Environment as { Variables?: Record<string, CfnValue> } | undefined)?.Variables ?? {}) as Record<string, CfnValue>;
    const environment: Record<string, string> = {};
    for (const [key, value] of Object.entries(variables)) {
      const seam = seams[key as keyof LocalSeams];
      environment[key] = seam ?? resolveCfnValue(template, value, apiUrl);
    }
    out.push({
      name,
      logicalId,
      environment,
      timeoutSeconds: Number(props.Timeout ?? 3),
      memorySize: Number(props.MemorySize ?? 128),
      handler: String(props.Handler ?? 'index.handler'),
    });
  }
  return out;
}

/** What the Lambda runtime sets in every container, plus the SDK endpoints of the stand-ins. */
export function lambdaRuntimeEnvironment(fn: TemplateFunction, bundleDir: string, endpoints: Record<string, string>): Record<string, string> {
  return {
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_FUNCTION_NAME: fn.logicalId,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.logicalId}`,
    AWS_LAMBDA_LOG_STREAM_NAME: 'local',
    ...(process.env.LOCAL_LAMBDA_DEBUG ? { LOCAL_LAMBDA_DEBUG: '1' } : {}),
    // The stand-ins tell callers apart by access key (fault injection per function).
    AWS_ACCESS_KEY_ID: `local-${fn.name}`,
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SESSION_TOKEN: 'local',
    LAMBDA_TASK_ROOT: bundleDir,
    TZ: ':UTC',
    ...endpoints,
  };
}

/** An error a function reported (its `errorType` is the name Step Functions matches on). */
export class LambdaInvocationError extends Error {
  constructor(name: string, message: string) {
    super(message);
    // The reported type, not this class's: Retry/Catch and callers match on it.
    this.name = name;
  }
}

/** Invocation and error counts per function: what CloudWatch's `Invocations` and `Errors` would show. */
export interface LambdaMetrics {
  invocations: number;
  errors: number;
  errorsByType: Record<string, number>;
}

/**
 * A fault of the Lambda service itself, for tests: the next invocations of a function fail with
 * `error` before the function runs (as `Lambda.ServiceException` and its kin do), or wait for
 * `hold` and then run.
 */
export interface InjectedFault {
  error?: string;
  hold?: Promise<void>;
  /** Only invocations whose event is about this request (`event.requestId`). */
  requestId?: string;
}

interface Container {
  worker: Worker;
  ready: Promise<void>;
  /** The one invocation it runs, if any (a Lambda container runs one at a time). */
  call?: { id: string; resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };
}

/** The containers of one function: idle ones, busy ones, and invocations waiting for one. */
interface Pool {
  idle: Container[];
  busy: Set<Container>;
  waiting: Array<(container: Container | Error) => void>;
}

/** Containers a function may run at once, unless the options say otherwise. */
export const DEFAULT_LOCAL_CONCURRENCY = 4;

export interface LocalLambdaServiceOptions {
  functions: TemplateFunction[];
  bundles: LambdaBundles;
  endpoints: Record<string, string>;
  /**
   * Containers one function may run at once (default 4). An invocation beyond waits for a free
   * one; its timeout starts when a container takes it (Lambda would throttle it, and Step
   * Functions or the API's client would try again).
   */
  concurrency?: number;
  /** Tests only: a shared offset (ms, BigInt64) added to every container's clock. */
  clockOffset?: SharedArrayBuffer;
  /** Receives each line a function writes to stdout/stderr (Powertools writes JSON lines). */
  output?: (functionName: FunctionName, line: string) => void;
}

export class LocalLambdaService {
  readonly #options: LocalLambdaServiceOptions;
  readonly #byName = new Map<FunctionName, TemplateFunction>();
  readonly #byLogicalId = new Map<string, TemplateFunction>();
  readonly #pools = new Map<FunctionName, Pool>();
  readonly #metrics = new Map<FunctionName, LambdaMetrics>();
  readonly #faults = new Map<FunctionName, InjectedFault[]>();
  readonly #concurrency: number;
  #stopped = false;

  constructor(options: LocalLambdaServiceOptions) {
    this.#options = options;
    this.#concurrency = Math.max(1, options.concurrency ?? DEFAULT_LOCAL_CONCURRENCY);
    for (const fn of options.functions) {
      this.#byName.set(fn.name, fn);
      this.#byLogicalId.set(fn.logicalId, fn);
    }
  }

  /** The functions deployed with this template. */
  functions(): TemplateFunction[] {
    return [...this.#byName.values()];
  }

  has(name: FunctionName): boolean {
    return this.#byName.has(name);
  }

  /** The function a logical id (or a local function ARN) stands for. */
  byLogicalId(idOrArn: string): TemplateFunction | undefined {
    return this.#byLogicalId.get(idOrArn.split(':').pop() ?? idOrArn);
  }

  /** Tests only: the next `times` invocations of `name` meet `fault`. */
  injectFault(name: FunctionName, fault: InjectedFault, times = 1): void {
    const queue = this.#faults.get(name) ?? [];
    for (let i = 0; i < times; i++) queue.push(fault);
    this.#faults.set(name, queue);
  }

  /** Injected faults not yet met, per function (of one request, when given). */
  pendingFaults(requestId?: string): Partial<Record<FunctionName, number>> {
    return Object.fromEntries(
      [...this.#faults]
        .map(([k, q]) => [k, q.filter((f) => requestId === undefined || f.requestId === requestId).length] as const)
        .filter(([, n]) => n > 0),
    );
  }

  /** Invocation and error counts so far, per function. */
  metrics(): Partial<Record<FunctionName, LambdaMetrics>> {
    return Object.fromEntries([...this.#metrics].map(([k, v]) => [k, { ...v, errorsByType: { ...v.errorsByType } }]));
  }

  /** Containers per function now, running or idle (what Lambda's `ConcurrentExecutions` peaks at). */
  containers(): Partial<Record<FunctionName, number>> {
    return Object.fromEntries([...this.#pools].map(([k, p]) => [k, p.idle.length + p.busy.size]));
  }

  /**
   * Invokes a function with an event, as `Invoke` with `RequestResponse` does.
   * @throws LambdaInvocationError named as the function's error (or `Sandbox.Timedout`).
   */
  async invoke<T = unknown>(name: FunctionName, event: unknown): Promise<T> {
    const fn = this.#byName.get(name);
    if (!fn) throw new Error(`Function ${name} is not deployed with this template`);
    if (this.#stopped) throw new LambdaInvocationError('Lambda.ServiceException', 'The local Lambda service is stopped');
    const metrics = this.#metrics.get(name) ?? { invocations: 0, errors: 0, errorsByType: {} };
    this.#metrics.set(name, metrics);
    metrics.invocations++;
    try {
      const queue = this.#faults.get(name) ?? [];
      const about = (event as { requestId?: unknown } | null)?.requestId;
      const due = queue.findIndex((f) => f.requestId === undefined || f.requestId === about);
      const fault = due >= 0 ? queue.splice(due, 1)[0] : undefined;
      if (fault?.hold) await fault.hold;
      if (fault?.error) throw new LambdaInvocationError(fault.error, 'Injected fault of the local Lambda service');
      const container = await this.#acquire(fn);
      return await this.#run<T>(fn, container, event);
    } catch (error) {
      metrics.errors++;
      const type = error instanceof Error ? error.name : 'Error';
      metrics.errorsByType[type] = (metrics.errorsByType[type] ?? 0) + 1;
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const stopped = () => new LambdaInvocationError('Lambda.ServiceException', 'The local Lambda service stopped');
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(
      pools.map(async (pool) => {
        for (const wake of pool.waiting.splice(0)) wake(stopped());
        await Promise.all([...pool.idle, ...pool.busy].map((c) => this.#discard(c, stopped())));
      }),
    );
  }

  /** Runs one invocation in a container of its own; past the function's timeout the container is stopped. */
  async #run<T>(fn: TemplateFunction, container: Container, event: unknown): Promise<T> {
    const id = randomUUID();
    const deadline = Date.now() + fn.timeoutSeconds * 1000;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        container.call = undefined;
        // Lambda stops the runtime of a timed-out invocation: nothing it still had to do runs.
        this.#remove(fn.name, container);
        void container.worker.terminate();
        reject(new LambdaInvocationError('Sandbox.Timedout', `Task timed out after ${fn.timeoutSeconds} seconds`));
      }, fn.timeoutSeconds * 1000);
      container.call = { id, resolve: resolve as (v: unknown) => void, reject, timer };
      container.worker.postMessage({ id, event: event === undefined ? {} : event, deadline, requestId: id });
    });
  }

  /** An idle container of the function, a new one while under the concurrency, or the next one freed. */
  async #acquire(fn: TemplateFunction): Promise<Container> {
    const pool = this.#pool(fn.name);
    const idle = pool.idle.pop();
    const container =
      idle ??
      (pool.busy.size + pool.idle.length < this.#concurrency
        ? this.#start(fn)
        : await new Promise<Container>((resolve, reject) => pool.waiting.push((c) => (c instanceof Error ? reject(c) : resolve(c)))));
    pool.busy.add(container);
    await container.ready;
    return container;
  }

  /** A container that finished its invocation serves the next waiting one, or waits idle. */
  #release(name: FunctionName, container: Container): void {
    const pool = this.#pools.get(name);
    if (!pool || !pool.busy.delete(container)) return;
    const next = pool.waiting.shift();
    if (next) next(container);
    else pool.idle.push(container);
  }

  /** Takes a stopped or crashed container out of its pool; a waiting invocation gets a new one. */
  #remove(name: FunctionName, container: Container): void {
    const pool = this.#pools.get(name);
    if (!pool) return;
    const idleAt = pool.idle.indexOf(container);
    if (!pool.busy.delete(container) && idleAt < 0) return;
    if (idleAt >= 0) pool.idle.splice(idleAt, 1);
    const next = pool.waiting.shift();
    const fn = this.#byName.get(name);
    if (next && fn && !this.#stopped) next(this.#start(fn));
    else if (next) next(new LambdaInvocationError('Lambda.ServiceException', 'The local Lambda service stopped'));
  }

  #pool(name: FunctionName): Pool {
    let pool = this.#pools.get(name);
    if (!pool) this.#pools.set(name, (pool = { idle: [], busy: new Set(), waiting: [] }));
    return pool;
  }

  #start(fn: TemplateFunction): Container {
    const entry = this.#options.bundles.entry(fn.name);
    const bundleDir = join(entry, '..');
    const env = { ...fn.environment, ...lambdaRuntimeEnvironment(fn, bundleDir, this.#options.endpoints) };
    // NODE_OPTIONS of the template (e.g. --enable-source-maps) are the container's node flags.
    const execArgv = (env.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean);
    const worker = new Worker(new URL('./lambda-worker.mjs', import.meta.url), {
      env,
      execArgv,
      stdout: true,
      stderr: true,
      workerData: { entry, functionName: fn.logicalId, memorySize: fn.memorySize, logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME, clockOffset: this.#options.clockOffset },
    });
    let ready!: () => void;
    const container: Container = { worker, ready: new Promise<void>((r) => (ready = r)) };
    worker.on('message', (message: { ready?: boolean; id?: string; result?: unknown; error?: { errorType: string; errorMessage: string } }) => {
      if (message.ready) return ready();
      const call = container.call;
      if (!call || call.id !== message.id) return;
      container.call = undefined;
      clearTimeout(call.timer);
      if (message.error) call.reject(new LambdaInvocationError(message.error.errorType, message.error.errorMessage));
      else call.resolve(message.result);
      this.#release(fn.name, container);
    });
    const fail = (error: Error) => {
      const call = container.call;
      container.call = undefined;
      if (call) {
        clearTimeout(call.timer);
        call.reject(error);
      }
      ready();
      this.#remove(fn.name, container);
    };
    // The container crashed (an uncaught error outside an invocation): Lambda reports Runtime.ExitError.
    worker.on('error', (error) => fail(new LambdaInvocationError('Runtime.ExitError', error.message)));
    worker.on('exit', () => fail(new LambdaInvocationError('Runtime.ExitError', 'The container exited')));
    const output = this.#options.output;
    for (const stream of [worker.stdout, worker.stderr]) {
      let buffered = '';
      stream.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          if (line.trim()) output ? output(fn.name, line) : process.stdout.write(`${line}\n`);
        }
      });
    }
    return container;
  }

  async #discard(container: Container, error: Error): Promise<void> {
    const call = container.call;
    container.call = undefined;
    if (call) {
      clearTimeout(call.timer);
      call.reject(error);
    }
    await container.worker.terminate();
  }
}
