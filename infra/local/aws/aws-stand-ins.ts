/**
 * Local stand-ins for the AWS services the deployed bundles call, on one loopback HTTP server
 * speaking each service's own wire protocol, so the bundles run unchanged with the AWS SDK
 * pointed here through `AWS_ENDPOINT_URL_<SERVICE>` (the only environment the local runtime adds
 * to what the template gives a function, see `lambdaRuntimeEnvironment`).
 *
 * | service | operations | backed by |
 * |---|---|---|
 * | Secrets Manager | GetSecretValue | the local secrets, registered by ARN |
 * | KMS | Sign (ECDSA_SHA_256, DIGEST or RAW), GetPublicKey | P-256 keys under `<dataDir>/kms/`, one per key id |
 * | S3 | PutObject (If-None-Match), GetObject, ListObjectsV2 | files under `<dataDir>/s3/<bucket>/` |
 * | Step Functions | StartExecution, DescribeExecution, ListExecutions, RedriveExecution, StopExecution | the local workflow |
 * | SES v2 | SendEmail | the outbox |
 * | CloudWatch | PutMetricData | an in-memory list (`metrics()`) |
 * | Lambda | Invoke (RequestResponse) | the local Lambda service |
 *
 * DynamoDB calls go to dynalite, through here when tests inject faults per calling function.
 * Anything else answers 400 `UnknownOperationException`.
 */
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject, createPrivateKey } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, relative, sep } from 'node:path';
import type { OutgoingMail } from '../../../functions/domain/ports';
import { signDigestDer } from './p256-digest-signer';

export const LOCAL_REGION = 'eu-west-1';
export const LOCAL_ACCOUNT = '000000000000';

/** One metric datum as PutMetricData received it. */
export interface RecordedMetric {
  namespace: string;
  name: string;
  value: number;
  dimensions: Record<string, string>;
  at: string;
}

/** What the Step Functions stand-in needs of the local workflow. */
export interface LocalExecutions {
  /** Starts `name` unless an execution of that name exists; `created` false when it did. */
  start(name: string, input: unknown): { created: boolean; startedAt: string; input: unknown };
  describe(name: string): { name: string; state: string; startedAt: string; stoppedAt?: string; input: unknown; error?: string } | undefined;
  list(): Array<{ name: string; state: string; startedAt: string; stoppedAt?: string }>;
  /** @throws Error named ExecutionDoesNotExist or ExecutionNotRedrivable */
  redrive(name: string): Promise<void>;
  stop(name: string): Promise<void>;
}

export interface AwsStandInsOptions {
  dataDir: string;
  /** dynalite's endpoint: DynamoDB calls pass through the stand-ins (for fault injection). */
  dynamodb: string;
  executions: LocalExecutions;
  sendMail: (mail: OutgoingMail) => Promise<{ messageId: string }>;
  /** Invokes a function by name or ARN (Lambda `Invoke`, RequestResponse). @throws an Error named as the function's error. */
  invoke: (functionName: string, event: unknown) => Promise<unknown>;
}

/** A service error as the JSON protocols carry it. */
class ServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

/** Every file below `dir`, as an S3 key (`/`-separated path relative to `dir`). */
function keysUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'));
}

const toEpochSeconds = (iso: string | undefined) => (iso ? new Date(iso).getTime() / 1000 : undefined);
const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export class AwsStandIns {
  readonly #options: AwsStandInsOptions;
  readonly #secrets = new Map<string, string>();
  readonly #keys = new Map<string, KeyObject>();
  readonly #metrics: RecordedMetric[] = [];
  /** Every DynamoDB call: which function made it, and the operation. */
  readonly #dynamoCalls: Array<{ caller: string; operation: string }> = [];
  /** Faults to answer instead of the service, by caller (function name) and service. */
  readonly #faults: Array<{ caller: string; service: 'dynamodb' | 's3'; error: string; left: number; operation?: string }> = [];
  #server?: Server;
  #url = '';

  constructor(options: AwsStandInsOptions) {
    this.#options = options;
  }

  get url(): string {
    return this.#url;
  }

  /** Makes a secret readable by its ARN (what the template's `Ref` of the secret stands for). */
  putSecret(arn: string, value: unknown): void {
    this.#secrets.set(arn, typeof value === 'string' ? value : JSON.stringify(value));
  }

  /** Every DynamoDB call so far (caller = function name), oldest first. */
  dynamoCalls(): Array<{ caller: string; operation: string }> {
    return [...this.#dynamoCalls];
  }

  /** Every metric datum received, oldest first. */
  metrics(): RecordedMetric[] {
    return [...this.#metrics];
  }

  /**
   * Tests only: the next `times` DynamoDB calls of the function `caller` get `error` (HTTP 400,
   * e.g. ProvisionedThroughputExceededException, which the SDK retries before giving up), of
   * one operation (`PutItem`, …) when given.
   */
  injectFault(caller: string, service: 'dynamodb' | 's3', error: string, times: number, operation?: string): void {
    this.#faults.push({ caller, service, error, left: times, ...(operation ? { operation } : {}) });
  }

  /** Tests only: drops the faults not yet met. */
  clearFaults(): void {
    this.#faults.length = 0;
  }

  /** The function a signed request comes from (each container signs with the access key `local-<name>`). */
  #callerOf(req: IncomingMessage): string | undefined {
    return /Credential=local-([\w-]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
  }

  /**
   * The endpoint variables the AWS SDK reads. DynamoDB goes straight to dynalite unless
   * `dynamoThroughStandIns` (one HTTP hop more per call, for fault injection and call records).
   */
  endpoints(options: { dynamoThroughStandIns?: boolean } = {}): Record<string, string> {
    return {
      AWS_ENDPOINT_URL_DYNAMODB: options.dynamoThroughStandIns ? this.#url : this.#options.dynamodb,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: this.#url,
      AWS_ENDPOINT_URL_KMS: this.#url,
      AWS_ENDPOINT_URL_S3: this.#url,
      AWS_ENDPOINT_URL_SFN: this.#url,
      AWS_ENDPOINT_URL_SESV2: this.#url,
      AWS_ENDPOINT_URL_CLOUDWATCH: this.#url,
      AWS_ENDPOINT_URL_LAMBDA: this.#url,
    };
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const target = String(req.headers['x-amz-target'] ?? '');
    const url = new URL(req.url ?? '/', 'http://local');
    try {
      if (target.startsWith('DynamoDB_20120810.')) return await this.#dynamodb(req, body, res);
      if (target) {
        const input = body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
        const output = await this.#json(target, input);
        const text = JSON.stringify(output);
        res.writeHead(200, { 'content-type': String(req.headers['content-type'] ?? 'application/x-amz-json-1.0'), 'content-length': Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      if (url.pathname === '/v2/email/outbound-emails' && req.method === 'POST') return this.#sendEmail(JSON.parse(body.toString('utf8')), res);
      const invocation = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(url.pathname);
      if (invocation && req.method === 'POST') return await this.#invoke(decodeURIComponent(invocation[1]!), body, res);
      return this.#s3(req, url, body, res);
    } catch (error) {
      const e = error instanceof ServiceError ? error : new ServiceError('InternalFailure', error instanceof Error ? error.message : String(error), 500);
      if (!target && url.pathname !== '/v2/email/outbound-emails') {
        const text = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${xml(e.type)}</Code><Message>${xml(e.message)}</Message></Error>`;
        res.writeHead(e.status, { 'content-type': 'application/xml' });
        res.end(text);
        return;
      }
      const text = JSON.stringify({ __type: e.type, message: e.message });
      res.writeHead(e.status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': e.type, 'content-length': Buffer.byteLength(text) });
      res.end(text);
    }
  }

  /** Passes a DynamoDB call to dynalite, unless a fault is due for its caller. */
  async #dynamodb(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const caller = this.#callerOf(req);
    const operation = String(req.headers['x-amz-target']).replace('DynamoDB_20120810.', '');
    this.#dynamoCalls.push({ caller: caller ?? 'unknown', operation });
    const fault = this.#faults.find((f) => f.caller === caller && f.service === 'dynamodb' && f.left > 0 && (f.operation === undefined || f.operation === operation));
    if (fault) {
      fault.left--;
      throw new ServiceError(fault.error, 'Injected fault of the local DynamoDB', /InternalServerError|ServiceUnavailable/.test(fault.error) ? 500 : 400);
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && !['host', 'connection', 'content-length', 'expect', 'transfer-encoding'].includes(name)) headers[name] = value;
    const answer = await fetch(this.#options.dynamodb, { method: 'POST', headers, body });
    const text = Buffer.from(await answer.arrayBuffer());
    const out: Record<string, string> = {};
    answer.headers.forEach((value, name) => {
      if (name !== 'content-length' && name !== 'connection' && name !== 'transfer-encoding' && name !== 'content-encoding') out[name] = value;
    });
    res.writeHead(answer.status, { ...out, 'content-length': text.length });
    res.end(text);
  }

  async #json(target: string, input: Record<string, unknown>): Promise<unknown> {
    switch (target) {
      case 'secretsmanager.GetSecretValue': {
        const id = String(input.SecretId ?? '');
        const value = this.#secrets.get(id);
        if (value === undefined) throw new ServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
        return { ARN: id, Name: id.split(':').pop(), SecretString: value, VersionId: 'local', VersionStages: ['AWSCURRENT'], CreatedDate: 0 };
      }
      case 'TrentService.GetPublicKey': {
        const { id, key } = this.#key(String(input.KeyId ?? ''));
        const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
        return { KeyId: this.#keyArn(id), PublicKey: spki.toString('base64'), KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: ['ECDSA_SHA_256'] };
      }
      case 'TrentService.Sign': {
        const { id, key } = this.#key(String(input.KeyId ?? ''));
        if (input.SigningAlgorithm !== 'ECDSA_SHA_256') throw new ServiceError('InvalidKeyUsageException', 'Only ECDSA_SHA_256 is supported by this key');
        const message = Buffer.from(String(input.Message ?? ''), 'base64');
        const digest = input.MessageType === 'DIGEST' ? message : createHash('sha256').update(message).digest();
        if (digest.length !== 32) throw new ServiceError('ValidationException', 'Digest must be 32 bytes for ECDSA_SHA_256');
        return { KeyId: this.#keyArn(id), Signature: signDigestDer(key, digest).toString('base64'), SigningAlgorithm: 'ECDSA_SHA_256' };
      }
      case 'GraniteServiceVersion20100801.PutMetricData': {
        const at = new Date().toISOString();
        for (const datum of (input.MetricData as Array<Record<string, unknown>> | undefined) ?? []) {
          const dimensions = Object.fromEntries(((datum.Dimensions as Array<{ Name: string; Value: string }> | undefined) ?? []).map((d) => [d.Name, d.Value]));
          this.#metrics.push({ namespace: String(input.Namespace), name: String(datum.MetricName), value: Number(datum.Value ?? 0), dimensions, at });
        }
        return {};
      }
      default:
        if (target.startsWith('AWSStepFunctions.')) return this.#stepFunctions(target.slice('AWSStepFunctions.'.length), input);
        throw new ServiceError('UnknownOperationException', `The local AWS stand-ins do not implement ${target}`);
    }
  }

  async #stepFunctions(operation: string, input: Record<string, unknown>): Promise<unknown> {
    const executions = this.#options.executions;
    const nameOf = (arn: unknown) => String(arn ?? '').split(':').pop() ?? '';
    const machineOf = (arn: unknown) => String(arn ?? '').split(':').slice(0, -1).join(':').replace(':execution:', ':stateMachine:');
    const executionArn = (machine: string, name: string) => `${machine.replace(':stateMachine:', ':execution:')}:${name}`;
    switch (operation) {
      case 'StartExecution': {
        const machine = String(input.stateMachineArn);
        const name = String(input.name);
        const parsed = JSON.parse(String(input.input ?? '{}')) as unknown;
        const started = executions.start(name, parsed);
        // The service accepts a repeated start of a running execution with the same input.
        if (!started.created) {
          const existing = executions.describe(name);
          if (existing?.state !== 'RUNNING' || JSON.stringify(existing.input) !== JSON.stringify(parsed)) {
            throw new ServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn(machine, name)}'`);
          }
        }
        return { executionArn: executionArn(machine, name), startDate: toEpochSeconds(started.startedAt) };
      }
      case 'DescribeExecution': {
        const arn = String(input.executionArn);
        const found = executions.describe(nameOf(arn));
        if (!found) throw new ServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
        return {
          executionArn: arn,
          stateMachineArn: machineOf(arn),
          name: found.name,
          status: found.state,
          startDate: toEpochSeconds(found.startedAt),
          ...(found.stoppedAt ? { stopDate: toEpochSeconds(found.stoppedAt) } : {}),
          input: JSON.stringify(found.input),
          ...(found.error ? { error: found.error } : {}),
        };
      }
      case 'ListExecutions': {
        const machine = String(input.stateMachineArn);
        const filter = input.statusFilter ? String(input.statusFilter) : undefined;
        return {
          executions: executions
            .list()
            .filter((e) => !filter || e.state === filter)
            .map((e) => ({ executionArn: executionArn(machine, e.name), stateMachineArn: machine, name: e.name, status: e.state, startDate: toEpochSeconds(e.startedAt), ...(e.stoppedAt ? { stopDate: toEpochSeconds(e.stoppedAt) } : {}) })),
        };
      }
      case 'RedriveExecution': {
        try {
          await executions.redrive(nameOf(input.executionArn));
        } catch (error) {
          const name = error instanceof Error ? error.message : 'ExecutionNotRedrivable';
          throw new ServiceError(name === 'ExecutionDoesNotExist' ? name : 'ExecutionNotRedrivable', `${name}: ${String(input.executionArn)}`);
        }
        return { redriveDate: Date.now() / 1000 };
      }
      case 'StopExecution': {
        const name = nameOf(input.executionArn);
        if (!executions.describe(name)) throw new ServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${String(input.executionArn)}'`);
        await executions.stop(name);
        return { stopDate: Date.now() / 1000 };
      }
      default:
        throw new ServiceError('UnknownOperationException', `The local AWS stand-ins do not implement AWSStepFunctions.${operation}`);
    }
  }

  /** Lambda Invoke: the function's result as the payload, or its error with `X-Amz-Function-Error`. */
  async #invoke(functionName: string, body: Buffer, res: ServerResponse): Promise<void> {
    const event = body.length ? (JSON.parse(body.toString('utf8')) as unknown) : {};
    let payload: string;
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' };
    try {
      payload = JSON.stringify((await this.#options.invoke(functionName, event)) ?? null);
    } catch (error) {
      headers['x-amz-function-error'] = 'Unhandled';
      payload = JSON.stringify({ errorType: error instanceof Error ? error.name : 'Error', errorMessage: error instanceof Error ? error.message : String(error) });
    }
    res.writeHead(200, { ...headers, 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
  }

  async #sendEmail(input: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const simple = (input.Content as { Simple?: { Subject?: { Data?: string }; Body?: { Text?: { Data?: string }; Html?: { Data?: string } } } } | undefined)?.Simple;
    const to = (input.Destination as { ToAddresses?: string[] } | undefined)?.ToAddresses ?? [];
    const tags = Object.fromEntries(((input.EmailTags as Array<{ Name: string; Value: string }> | undefined) ?? []).map((t) => [t.Name, t.Value]));
    if (!simple || to.length !== 1) throw new ServiceError('BadRequestException', 'The local SES stand-in takes simple messages to one address');
    const { messageId } = await this.#options.sendMail({
      to: to[0]!,
      subject: simple.Subject?.Data ?? '',
      text: simple.Body?.Text?.Data ?? '',
      ...(simple.Body?.Html?.Data !== undefined ? { html: simple.Body.Html.Data } : {}),
      kind: tags.kind ?? 'unknown',
      ...(tags.requestId ? { requestId: tags.requestId } : {}),
    });
    const text = JSON.stringify({ MessageId: messageId });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  /**
   * S3, path style (the SDK uses it for an IP-address endpoint): /<bucket>/<key>. Objects are
   * files under `<dataDir>/s3/<bucket>/`, a key's `/` being folders, so tests can look at them.
   */
  #s3(req: IncomingMessage, url: URL, body: Buffer, res: ServerResponse): void {
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    if (!bucket) throw new ServiceError('NotImplemented', 'Bucket listing is not implemented', 501);
    const caller = this.#callerOf(req);
    const fault = this.#faults.find((f) => f.caller === caller && f.service === 's3' && f.left > 0);
    if (fault) {
      fault.left--;
      throw new ServiceError(fault.error, 'Injected fault of the local S3', 500);
    }
    const dir = join(this.#options.dataDir, 's3', bucket);
    const file = (k: string) => {
      const parts = k.split('/');
      // A key is a path below the bucket folder, never outside it.
      if (parts.some((p) => p === '' || p === '.' || p === '..')) throw new ServiceError('InvalidArgument', 'The local S3 stand-in takes keys of non-empty path segments only');
      return join(dir, ...parts);
    };
    if (req.method === 'PUT' && key) {
      const path = file(key);
      mkdirSync(dirname(path), { recursive: true });
      if (req.headers['if-none-match'] === '*' && existsSync(path)) {
        throw new ServiceError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412);
      }
      writeFileSync(path, body, { flag: req.headers['if-none-match'] === '*' ? 'wx' : 'w' });
      res.writeHead(200, { etag: `"${createHash('md5').update(body).digest('hex')}"` });
      res.end();
      return;
    }
    if (req.method === 'GET' && key) {
      const path = file(key);
      if (!existsSync(path) || !statSync(path).isFile()) throw new ServiceError('NoSuchKey', 'The specified key does not exist.', 404);
      const content = readFileSync(path);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': content.length, etag: `"${createHash('md5').update(content).digest('hex')}"` });
      res.end(content);
      return;
    }
    if (req.method === 'GET' && url.searchParams.get('list-type') === '2') {
      const prefix = url.searchParams.get('prefix') ?? '';
      const after = url.searchParams.get('continuation-token') ?? url.searchParams.get('start-after') ?? '';
      const max = Math.min(Number(url.searchParams.get('max-keys') ?? 1000) || 1000, 1000);
      const all = existsSync(dir) ? keysUnder(dir).filter((k) => k.startsWith(prefix) && k > after).sort() : [];
      const page = all.slice(0, max);
      const truncated = all.length > page.length;
      const contents = page
        .map((k) => {
          const content = readFileSync(file(k));
          return `<Contents><Key>${xml(k)}</Key><LastModified>${new Date().toISOString()}</LastModified><ETag>"${createHash('md5').update(content).digest('hex')}"</ETag><Size>${content.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
        })
        .join('');
      const text = `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xml(bucket)}</Name><Prefix>${xml(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}${truncated ? `<NextContinuationToken>${xml(page.at(-1)!)}</NextContinuationToken>` : ''}</ListBucketResult>`;
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(text);
      return;
    }
    throw new ServiceError('NotImplemented', `The local S3 stand-in does not implement ${req.method} ${url.pathname}`, 501);
  }

  #keyArn(id: string): string {
    return `arn:aws:kms:${LOCAL_REGION}:${LOCAL_ACCOUNT}:key/${id}`;
  }

  /** The key of a key id, ARN or alias-free id: created (and kept under the data directory) on first use. */
  #key(keyId: string): { id: string; key: KeyObject } {
    const id = keyId.replace(/^arn:aws:kms:[^:]*:[^:]*:key\//, '');
    if (!/^[\w-]{1,128}$/.test(id)) throw new ServiceError('NotFoundException', 'Invalid keyId');
    let key = this.#keys.get(id);
    if (!key) {
      const path = join(this.#options.dataDir, 'kms', `${id}.json`);
      if (existsSync(path)) key = createPrivateKey({ key: JSON.parse(readFileSync(path, 'utf8')), format: 'jwk' });
      else {
        key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
        mkdirSync(join(this.#options.dataDir, 'kms'), { recursive: true });
        writeFileSync(path, JSON.stringify(key.export({ format: 'jwk' })), { mode: 0o600 });
      }
      this.#keys.set(id, key);
    }
    return { id, key };
  }
}
