/**
 * Signed chain checkpoints in an S3 bucket with Object Lock: the `CheckpointWriter` in AWS.
 *
 * Write-once twice over: every put is conditional (`If-None-Match: *`, so an existing key is never
 * replaced) and the bucket's default Object Lock retention keeps each version from being deleted or
 * overwritten until it expires. Object Lock needs an integrity checksum on every put, hence
 * `ChecksumAlgorithm: 'SHA256'`. There is deliberately no "latest" pointer object — a pointer
 * would have to be overwritten — so `latest()` lists the prefix; keys sort by time.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { CheckpointWriter } from '../../staff/checkpoints';
import { AwsServiceError, CheckpointExistsError, ConfigurationError, awsCall, awsErrorName, awsHttpStatus } from './errors';

export interface S3CheckpointWriterOptions {
  /** Created once per container by the caller. */
  client: S3Client;
  bucket: string;
  /** Folder of the checkpoints, default `checkpoints/`. */
  prefix?: string;
}

export const DEFAULT_CHECKPOINT_PREFIX = 'checkpoints/';

/** File-name safe keys only: no folders, no `..`, nothing S3 or a shell would treat specially. */
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

export class S3CheckpointWriter implements CheckpointWriter {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  /**
   * The newest checkpoint seen so far and its body. Objects are immutable, so the body can be kept;
   * the next listing starts after its key, so it reads only what was written since.
   */
  private newest: { key: string; body: string } | undefined;

  /** @throws ConfigurationError when the bucket is empty or the prefix is not a folder (`…/`). */
  constructor(options: S3CheckpointWriterOptions) {
    if (!options.bucket.trim()) throw new ConfigurationError('The checkpoint bucket name is empty');
    const prefix = options.prefix ?? DEFAULT_CHECKPOINT_PREFIX;
    if (!/^([A-Za-z0-9._-]+\/)+$/.test(prefix)) throw new ConfigurationError('The checkpoint prefix must be a folder such as checkpoints/');
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = prefix;
  }

  /**
   * Writes `body` under `<prefix><key>`, never replacing an object. Keys must sort by time (e.g.
   * `checkpointKey(at)`, an ISO time made file-name safe): `latest()` trusts lexical order.
   * `.json` keys are stored as `application/json`, anything else as `application/jose`.
   * @throws CheckpointExistsError when the key exists (or is being written) already;
   *   RangeError for a key that is not a plain file name;
   *   AwsServiceUnavailableError or AwsServiceError when S3 fails.
   */
  async put(key: string, body: string): Promise<void> {
    if (!KEY_NAME.test(key) || key.includes('..')) throw new RangeError('A checkpoint key must be a plain file name');
    const objectKey = this.prefix + key;
    await awsCall(
      'S3',
      'PutObject',
      () =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: objectKey,
            Body: body,
            ContentType: key.endsWith('.json') ? 'application/json' : 'application/jose',
            IfNoneMatch: '*',
            ChecksumAlgorithm: 'SHA256',
          }),
        ),
      (error) => {
        // 412: the key exists. 409: another conditional write to the same key is in flight — either
        // way this body will not be the one stored under that key.
        const status = awsHttpStatus(error);
        const name = awsErrorName(error);
        if (status === 412 || name === 'PreconditionFailed' || status === 409 || name === 'ConditionalRequestConflict') {
          return new CheckpointExistsError(objectKey, { cause: error });
        }
        return undefined;
      },
    );
  }

  /**
   * The body of the newest checkpoint (greatest key under the prefix), or undefined when there is
   * none. Lists every page after the newest key seen so far, then reads the object if it is new.
   * @throws AwsServiceUnavailableError or AwsServiceError when S3 fails.
   */
  async latest(): Promise<string | undefined> {
    let newestKey = this.newest?.key;
    let token: string | undefined;
    do {
      const page = await awsCall('S3', 'ListObjectsV2', () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix,
            ...(token ? { ContinuationToken: token } : newestKey ? { StartAfter: newestKey } : {}),
          }),
        ),
      );
      for (const { Key } of page.Contents ?? []) {
        if (Key && !Key.endsWith('/') && (newestKey === undefined || Key > newestKey)) newestKey = Key;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);

    if (newestKey === undefined) return undefined;
    if (this.newest?.key === newestKey) return this.newest.body;
    const key = newestKey;
    const object = await awsCall('S3', 'GetObject', () => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })));
    if (!object.Body) throw new AwsServiceError(`S3 GetObject returned no body for checkpoint ${key}`);
    const body = await object.Body.transformToString('utf-8');
    this.newest = { key, body };
    return body;
  }
}
