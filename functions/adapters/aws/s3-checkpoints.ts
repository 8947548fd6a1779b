/**
 * Signed chain checkpoints in an S3 bucket with Object Lock: the `CheckpointWriter` in AWS.
 *
 * Write-once twice over: every put is conditional (`If-None-Match: *`, so an existing key is never
 * replaced) and the bucket's default Object Lock retention keeps each version from being deleted or
 * overwritten until it expires. Object Lock needs an integrity checksum on every put, hence
 * `ChecksumAlgorithm: 'SHA256'`. There is deliberately no "latest" pointer object — a pointer
 * would have to be overwritten — and no trust in key order: the reader lists the prefix and
 * chooses checkpoints by their signed content (`functions/domain/checkpoints.ts`).
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import type { CheckpointWriter } from '../../staff/checkpoints';
import { AwsServiceError, CheckpointExistsError, ConfigurationError, awsCall, awsErrorName, awsHttpStatus, translateAwsError } from './errors';

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
   * Writes `body` under `<prefix><key>`, never replacing an object (`checkpointKey(at)` keys; the
   * bucket policy refuses any other key and any put without `If-None-Match`).
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
   * The names (without the prefix) of every object under the prefix that sort after `startAfter`,
   * in key order, following every page. Folder markers are left out; anything else is named, well
   * formed or not, so the reader can report it.
   * @throws AwsServiceUnavailableError or AwsServiceError when S3 fails.
   */
  async list(startAfter?: string): Promise<string[]> {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await awsCall('S3', 'ListObjectsV2', () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix,
            ...(token ? { ContinuationToken: token } : startAfter !== undefined ? { StartAfter: this.prefix + startAfter } : {}),
          }),
        ),
      );
      for (const { Key } of page.Contents ?? []) {
        if (Key && Key.startsWith(this.prefix) && !Key.endsWith('/')) names.push(Key.slice(this.prefix.length));
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return names;
  }

  /**
   * The body of one checkpoint object as stored (UTF-8), or undefined when there is no such key.
   * @throws AwsServiceUnavailableError or AwsServiceError when S3 fails.
   */
  async get(key: string): Promise<string | undefined> {
    const objectKey = this.prefix + key;
    let object: GetObjectCommandOutput;
    try {
      object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }));
    } catch (error) {
      if (awsErrorName(error) === 'NoSuchKey' || awsHttpStatus(error) === 404) return undefined;
      throw translateAwsError(error, 'S3', 'GetObject');
    }
    if (!object.Body) throw new AwsServiceError(`S3 GetObject returned no body for checkpoint ${objectKey}`);
    return object.Body.transformToString('utf-8');
  }
}
