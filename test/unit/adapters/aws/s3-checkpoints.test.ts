import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type GetObjectCommandOutput,
  type ListObjectsV2CommandInput,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AwsServiceError,
  AwsServiceUnavailableError,
  CheckpointExistsError,
  ConfigurationError,
} from '../../../../functions/adapters/aws/errors';
import { S3CheckpointWriter } from '../../../../functions/adapters/aws/s3-checkpoints';
import { checkpointKey } from '../../../../functions/staff/checkpoints';

const s3 = mockClient(S3Client);
const BUCKET = 'erasure-desk-checkpoints';
const JWS = 'eyJhbGciOiJFUzI1NiJ9.eyJhIjoxfQ.c2ln';

const newWriter = (prefix?: string) => new S3CheckpointWriter({ client: new S3Client({ region: 'eu-west-1' }), bucket: BUCKET, prefix });

/** The part of a streaming body the writer reads. */
const bodyOf = (text: string) => ({ transformToString: async () => text }) as unknown as GetObjectCommandOutput['Body'];

const s3Error = (name: string, httpStatusCode: number) =>
  new S3ServiceException({ name, $fault: httpStatusCode >= 500 ? 'server' : 'client', message: name, $metadata: { httpStatusCode } });

/**
 * A bucket in memory that honours `If-None-Match: *` and lists keys in order, `pageSize` at a
 * time, with `StartAfter` and continuation tokens — enough S3 to run the writer against.
 */
function fakeBucket(pageSize = 2) {
  const objects = new Map<string, string>();
  s3.on(PutObjectCommand).callsFake((input: PutObjectCommandInput) => {
    if (input.IfNoneMatch === '*' && objects.has(input.Key!)) throw s3Error('PreconditionFailed', 412);
    objects.set(input.Key!, String(input.Body));
    return { ETag: '"e"' };
  });
  s3.on(ListObjectsV2Command).callsFake((input: ListObjectsV2CommandInput) => {
    const after = input.ContinuationToken ?? input.StartAfter ?? '';
    const keys = [...objects.keys()].filter((k) => k.startsWith(input.Prefix ?? '') && k > after).sort();
    const page = keys.slice(0, pageSize);
    const truncated = keys.length > pageSize;
    return { Contents: page.map((Key) => ({ Key })), IsTruncated: truncated, ...(truncated ? { NextContinuationToken: page.at(-1) } : {}) };
  });
  s3.on(GetObjectCommand).callsFake((input: { Key: string }) => {
    const body = objects.get(input.Key);
    if (body === undefined) throw s3Error('NoSuchKey', 404);
    return { Body: bodyOf(body) };
  });
  return objects;
}

afterEach(() => {
  s3.reset();
});

describe('S3CheckpointWriter', () => {
  describe('construction', () => {
    it.each([
      { name: 'an empty bucket name', options: { bucket: '' } },
      { name: 'a prefix that is not a folder', options: { bucket: BUCKET, prefix: 'checkpoints' } },
      { name: 'a prefix starting at the root', options: { bucket: BUCKET, prefix: '/checkpoints/' } },
    ])('refuses $name', ({ options }) => {
      expect(() => new S3CheckpointWriter({ client: new S3Client({}), ...options })).toThrow(ConfigurationError);
    });
  });

  describe('put', () => {
    it('writes a JWS once, never overwriting, with a SHA-256 checksum for Object Lock', async () => {
      // Prepare
      s3.on(PutObjectCommand).resolves({ ETag: '"abc"' });

      // Act
      await newWriter().put('checkpoint-2025-03-01T10-00-00-000Z.jws', JWS);

      // Assess
      const calls = s3.commandCalls(PutObjectCommand);
      expect(calls).toHaveLength(1);
      expect(calls[0]!.args[0].input).toEqual({
        Bucket: BUCKET,
        Key: 'checkpoints/checkpoint-2025-03-01T10-00-00-000Z.jws',
        Body: JWS,
        ContentType: 'application/jose',
        IfNoneMatch: '*',
        ChecksumAlgorithm: 'SHA256',
      });
    });

    it('stores .json keys as application/json under a custom prefix', async () => {
      // Prepare
      s3.on(PutObjectCommand).resolves({});

      // Act
      await newWriter('audit/heads/').put('2025-03-01.json', '{"a":1}');

      // Assess
      expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input).toMatchObject({ Key: 'audit/heads/2025-03-01.json', ContentType: 'application/json' });
    });

    it.each(['', 'a/b.jws', '../x.jws', '.hidden', 'x..jws', 'with space.jws', 'x'.repeat(256)])('refuses the key %j without calling S3', async (key) => {
      // Act
      const outcome = newWriter().put(key, JWS);

      // Assess
      await expect(outcome).rejects.toThrow(RangeError);
      expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    });

    it.each([
      { code: 'PreconditionFailed', sdk: () => s3Error('PreconditionFailed', 412), expected: CheckpointExistsError },
      { code: 'ConditionalRequestConflict', sdk: () => s3Error('ConditionalRequestConflict', 409), expected: CheckpointExistsError },
      { code: 'SlowDown', sdk: () => s3Error('SlowDown', 503), expected: AwsServiceUnavailableError },
      { code: 'InternalError', sdk: () => s3Error('InternalError', 500), expected: AwsServiceUnavailableError },
      { code: 'AccessDenied', sdk: () => s3Error('AccessDenied', 403), expected: AwsServiceError },
      { code: 'InvalidRequest', sdk: () => s3Error('InvalidRequest', 400), expected: AwsServiceError },
    ])('translates $code from the SDK into $expected.name', async ({ sdk, expected }) => {
      // Prepare
      s3.on(PutObjectCommand).rejects(sdk());

      // Act
      const outcome = newWriter().put('c.jws', JWS);

      // Assess
      await expect(outcome).rejects.toThrow(expected);
    });

    it('refuses to write the same key twice', async () => {
      // Prepare
      const objects = fakeBucket();
      const writer = newWriter();
      await writer.put('c.jws', 'first');

      // Act
      const outcome = writer.put('c.jws', 'second');

      // Assess
      await expect(outcome).rejects.toMatchObject({ name: 'CheckpointExistsError', key: 'checkpoints/c.jws' });
      expect(objects.get('checkpoints/c.jws')).toBe('first');
    });
  });

  describe('list', () => {
    it('is empty when no checkpoint was written', async () => {
      // Prepare
      s3.on(ListObjectsV2Command).resolves({ KeyCount: 0, IsTruncated: false });

      // Act
      const names = await newWriter().list();

      // Assess
      expect(names).toEqual([]);
      expect(s3.commandCalls(ListObjectsV2Command)[0]!.args[0].input).toEqual({ Bucket: BUCKET, Prefix: 'checkpoints/' });
    });

    it('pages through the whole listing and names every object without the prefix, folder markers left out', async () => {
      // Prepare
      s3.on(ListObjectsV2Command)
        .resolvesOnce({ Contents: [{ Key: 'checkpoints/' }, { Key: 'checkpoints/a.jws' }, { Key: 'checkpoints/b.jws' }], IsTruncated: true, NextContinuationToken: 't1' })
        .resolvesOnce({ Contents: [{ Key: 'checkpoints/c.jws' }, { Key: 'checkpoints/nested/d.jws' }], IsTruncated: true, NextContinuationToken: 't2' })
        .resolvesOnce({ Contents: [{ Key: 'checkpoints/e.jws' }], IsTruncated: false });

      // Act
      const names = await newWriter().list();

      // Assess
      expect(names).toEqual(['a.jws', 'b.jws', 'c.jws', 'nested/d.jws', 'e.jws']);
      expect(s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input)).toEqual([
        { Bucket: BUCKET, Prefix: 'checkpoints/' },
        { Bucket: BUCKET, Prefix: 'checkpoints/', ContinuationToken: 't1' },
        { Bucket: BUCKET, Prefix: 'checkpoints/', ContinuationToken: 't2' },
      ]);
    });

    it('lists only what sorts after the key it is given', async () => {
      // Prepare
      fakeBucket();
      const writer = newWriter();
      for (const key of ['c1.jws', 'c2.jws', 'c3.jws', 'c4.jws']) await writer.put(key, key);
      s3.resetHistory();

      // Act
      const names = await writer.list('c2.jws');

      // Assess
      expect(names).toEqual(['c3.jws', 'c4.jws']);
      expect(s3.commandCalls(ListObjectsV2Command)[0]!.args[0].input).toEqual({ Bucket: BUCKET, Prefix: 'checkpoints/', StartAfter: 'checkpoints/c2.jws' });
    });

    it('names every checkpoint whatever order they were written in', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2999-12-31T23:59:59Z'), noInvalidDate: true }), {
            minLength: 1,
            maxLength: 12,
            selector: (d) => d.getTime(),
          }),
          async (dates) => {
            // Prepare
            s3.reset();
            fakeBucket(3);
            const writer = newWriter();

            // Act
            for (const at of dates) await writer.put(checkpointKey(at), at.toISOString());
            const names = await writer.list();

            // Assess
            expect(names).toEqual(dates.map((d) => checkpointKey(d)).sort());
          },
        ),
        { numRuns: 50 },
      );
    });
  });

  describe('get', () => {
    it('reads an object as it was written, and nothing for a missing key', async () => {
      // Prepare
      fakeBucket();
      const writer = newWriter();
      await writer.put('c1.jws', JWS);

      // Act
      const found = await writer.get('c1.jws');
      const missing = await writer.get('c9.jws');

      // Assess
      expect(found).toBe(JWS);
      expect(missing).toBeUndefined();
      expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input)).toEqual([
        { Bucket: BUCKET, Key: 'checkpoints/c1.jws' },
        { Bucket: BUCKET, Key: 'checkpoints/c9.jws' },
      ]);
    });

    it.each([
      { operation: 'ListObjectsV2', command: ListObjectsV2Command, code: 'SlowDown', sdk: () => s3Error('SlowDown', 503), expected: AwsServiceUnavailableError },
      { operation: 'ListObjectsV2', command: ListObjectsV2Command, code: 'NoSuchBucket', sdk: () => s3Error('NoSuchBucket', 404), expected: AwsServiceError },
      { operation: 'GetObject', command: GetObjectCommand, code: 'AccessDenied', sdk: () => s3Error('AccessDenied', 403), expected: AwsServiceError },
      { operation: 'GetObject', command: GetObjectCommand, code: 'SlowDown', sdk: () => s3Error('SlowDown', 503), expected: AwsServiceUnavailableError },
    ])('translates a failed $operation ($code) into $expected.name', async ({ command, sdk, expected }) => {
      // Prepare
      s3.on(command as typeof GetObjectCommand).rejects(sdk());
      const writer = newWriter();

      // Act
      const outcome = command === ListObjectsV2Command ? writer.list() : writer.get('a.jws');

      // Assess
      await expect(outcome).rejects.toThrow(expected);
    });
  });
});
