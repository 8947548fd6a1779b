/**
 * The on-demand roles snapshot refresh, run by the refresh-roles-snapshot function instead of by
 * the caller. The console and the ops API face the internet; a refresh needs the Kore.ai
 * credentials and batch writes to the table, neither of which they should hold. They invoke the
 * refresh function and wait for its answer (RequestResponse); a refresh that outlasts their own
 * timeout still finishes in that function, which has fifteen minutes.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { SnapshotInfo } from '../../domain/model';
import { DomainError } from '../../domain/errors';
import { awsCall } from './errors';

export interface LambdaRolesRefresherOptions {
  /** Created once per container by the caller. */
  client: LambdaClient;
  /** Name or ARN of the refresh-roles-snapshot function. */
  functionName: string;
}

/** The refresh function ran and failed (its error's name is kept, never its message), or answered something else than a snapshot. */
export class RolesRefreshFailedError extends DomainError {
  constructor(
    message: string,
    readonly errorType?: string,
  ) {
    super(message);
    this.name = 'RolesRefreshFailedError';
  }
}

const NAME = /^[A-Za-z][A-Za-z0-9_.]{0,80}$/;

function parseSnapshotInfo(payload: unknown): SnapshotInfo | undefined {
  const p = payload as Partial<Record<keyof SnapshotInfo, unknown>> | null;
  if (!p || typeof p.version !== 'string' || typeof p.takenAt !== 'string' || typeof p.userCount !== 'number' || typeof p.identityCount !== 'number') {
    return undefined;
  }
  return { version: p.version, takenAt: p.takenAt, userCount: p.userCount, identityCount: p.identityCount };
}

export class LambdaRolesRefresher {
  readonly #client: LambdaClient;
  readonly #functionName: string;

  constructor(options: LambdaRolesRefresherOptions) {
    this.#client = options.client;
    this.#functionName = options.functionName;
  }

  /**
   * Rebuilds the snapshot now, in the refresh function, and returns what it wrote.
   * @throws RolesRefreshFailedError when the function failed or answered no snapshot;
   *   AwsServiceUnavailableError / AwsServiceError when Lambda could not be invoked.
   */
  async refresh(): Promise<SnapshotInfo> {
    const out = await awsCall('Lambda', 'Invoke', () =>
      this.#client.send(new InvokeCommand({ FunctionName: this.#functionName, InvocationType: 'RequestResponse', Payload: new TextEncoder().encode('{}') })),
    );
    let payload: unknown;
    try {
      payload = out.Payload && out.Payload.byteLength > 0 ? JSON.parse(new TextDecoder().decode(out.Payload)) : undefined;
    } catch {
      payload = undefined;
    }
    if (out.FunctionError) {
      const type = (payload as { errorType?: unknown } | undefined)?.errorType;
      const errorType = typeof type === 'string' && NAME.test(type) ? type : undefined;
      throw new RolesRefreshFailedError(`The roles snapshot refresh failed (${errorType ?? out.FunctionError})`, errorType);
    }
    const info = parseSnapshotInfo(payload);
    if (!info) throw new RolesRefreshFailedError('The roles snapshot refresh answered without a snapshot');
    return info;
  }
}
