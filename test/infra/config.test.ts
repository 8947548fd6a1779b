import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from '../../infra/config';

const from = (values: Record<string, unknown>) => (key: string) => values[key];

describe('readConfig', () => {
  it('applies the documented defaults when no context is given', () => {
    const config = readConfig(from({}));

    expect(config).toEqual({
      koreBaseUrl: 'https://bots.kore.ai',
      koreBudget: { perMinute: 60, perHour: 1800, margin: 0.1, timeScale: 1 },
      rolesRefresh: { share: 0.25, intervalSeconds: 3600 },
      erasureBatch: { size: 50, gatherSeconds: 2 },
      verification: { lookBackDays: 14, lagSeconds: 300, sampleShare: 1 },
      publicBaseUrl: undefined,
      mailFrom: undefined,
      staffIdentity: undefined,
      rolesClaim: 'cognito:groups',
      alarmEmail: undefined,
      canary: undefined,
      pollInitialSeconds: 10,
      pollMaxSeconds: 1800,
      pollDeadlineSeconds: 604_800,
      snapshotMaxAgeSeconds: 3600,
      recordRetentionDays: 2190,
      apiThrottle: { rateLimit: 20, burstLimit: 50 },
      lifecycle: {},
      reserveConcurrency: false,
      createMailIdentity: true,
      checkpointLockMode: 'COMPLIANCE',
    });
  });

  it('passes only the lifecycle timings given in context on, by variable', () => {
    const config = readConfig(from({ stuckAfterSeconds: '15', verificationTtlSeconds: 120 }));
    expect(config.lifecycle).toEqual({ STUCK_AFTER_SECONDS: 15, VERIFICATION_TTL_SECONDS: 120 });
    expect(() => readConfig(from({ verificationTtlSeconds: '59' }))).toThrow(/verificationTtlSeconds/);
    expect(() => readConfig(from({ stuckAfterSeconds: 'soon' }))).toThrow(/stuckAfterSeconds/);
  });

  it('reads koreTimeoutMs within 100–20000 ms', () => {
    expect(readConfig(from({ koreTimeoutMs: '1000' })).koreTimeoutMs).toBe(1000);
    expect(readConfig(from({})).koreTimeoutMs).toBeUndefined();
    expect(() => readConfig(from({ koreTimeoutMs: '50' }))).toThrow(/koreTimeoutMs/);
  });

  it.each([
    ['false', false],
    [false, false],
    ['true', true],
    [true, true],
    ['', false],
  ])('reads reserveConcurrency=%s as %s', (value, expected) => {
    expect(readConfig(from({ reserveConcurrency: value })).reserveConcurrency).toBe(expected);
  });

  it.each([
    ['GOVERNANCE', 'GOVERNANCE'],
    ['governance', 'GOVERNANCE'],
    ['COMPLIANCE', 'COMPLIANCE'],
    ['', 'COMPLIANCE'],
  ])('reads checkpointLockMode=%s as %s', (value, expected) => {
    expect(readConfig(from({ checkpointLockMode: value })).checkpointLockMode).toBe(expected);
  });

  it.each([
    ['existing', false],
    ['create', true],
    ['', true],
  ])('reads mailIdentity=%s as createMailIdentity=%s', (value, expected) => {
    expect(readConfig(from({ mailFrom: 'privacy@example.com', mailIdentity: value })).createMailIdentity).toBe(expected);
  });

  it('reads CLI string values (-c key=value) as numbers, lists and trimmed URLs', () => {
    const config = readConfig(
      from({
        koreBaseUrl: 'https://eu-bots.kore.ai/',
        pollInitialSeconds: '5',
        pollMaxSeconds: '600',
        pollDeadlineSeconds: '86400',
        apiThrottleRate: '7',
        apiThrottleBurst: '9',
        canaryBotIds: 'st-aaa, st-bbb',
        canaryUserId: 'canary@example.com',
        mailFrom: 'privacy@example.com',
        publicBaseUrl: '',
      }),
    );

    expect(config.koreBaseUrl).toBe('https://eu-bots.kore.ai');
    expect(config.pollInitialSeconds).toBe(5);
    expect(config.pollMaxSeconds).toBe(600);
    expect(config.pollDeadlineSeconds).toBe(86_400);
    expect(config.apiThrottle).toEqual({ rateLimit: 7, burstLimit: 9 });
    expect(config.canary).toEqual({ botIds: ['st-aaa', 'st-bbb'], userId: 'canary@example.com' });
    expect(config.mailFrom).toBe('privacy@example.com');
    expect(config.publicBaseUrl).toBeUndefined();
  });

  it('uses an external issuer only when issuer, audience and JWKS URL are all given', () => {
    const config = readConfig(
      from({
        staffIssuer: 'https://login.example.com/',
        staffAudience: 'erasure-desk',
        staffJwksUrl: 'https://login.example.com/.well-known/jwks.json',
        rolesClaim: 'roles',
      }),
    );

    expect(config.staffIdentity).toEqual({
      issuer: 'https://login.example.com',
      audience: 'erasure-desk',
      jwksUrl: 'https://login.example.com/.well-known/jwks.json',
    });
    expect(config.rolesClaim).toBe('roles');
  });

  it.each([
    ['an http Kore.ai URL', { koreBaseUrl: 'http://bots.kore.ai' }, 'koreBaseUrl'],
    ['a non-numeric poll interval', { pollInitialSeconds: 'soon' }, 'pollInitialSeconds'],
    ['a zero throttle rate', { apiThrottleRate: 0 }, 'apiThrottleRate'],
    ['a fractional retention', { recordRetentionDays: 1.5 }, 'recordRetentionDays'],
    ['an issuer without audience and JWKS URL', { staffIssuer: 'https://login.example.com' }, 'staffIssuer'],
    ['canary bots without a canary user', { canaryBotIds: 'st-abc' }, 'canaryBotIds'],
    ['a malformed canary bot id', { canaryBotIds: 'bot1', canaryUserId: 'u@example.com' }, 'canaryBotIds'],
    ['a malformed alarm e-mail', { alarmEmail: 'ops-at-example' }, 'alarmEmail'],
    ['a first poll longer than the cap', { pollInitialSeconds: 900, pollMaxSeconds: 60 }, 'pollInitialSeconds'],
    ['a reserveConcurrency that is not a boolean', { reserveConcurrency: 'sometimes' }, 'reserveConcurrency'],
    ['a poll cap beyond the deadline', { pollMaxSeconds: 7200, pollDeadlineSeconds: 3600 }, 'pollMaxSeconds'],
    ['an Object Lock mode S3 does not have', { checkpointLockMode: 'LEGAL_HOLD' }, 'checkpointLockMode'],
    ['a mail identity choice that is neither create nor existing', { mailIdentity: 'verified' }, 'mailIdentity'],
  ])('rejects %s, naming the key', (_what, values, key) => {
    expect(() => readConfig(from(values))).toThrowError(ConfigError);
    expect(() => readConfig(from(values))).toThrowError(new RegExp(`\\b${key}\\b`));
  });

  it('never echoes a rejected value in its error (it may be an address)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{6,12}$/), (local) => {
        const value = `${local}-at-example`;
        try {
          readConfig(from({ alarmEmail: value }));
          return false;
        } catch (error) {
          return error instanceof ConfigError && !error.message.includes(value);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('accepts any consistent poll settings and keeps them as given', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3600 }),
        fc.integer({ min: 0, max: 80_000 }),
        fc.integer({ min: 0, max: 500_000 }),
        (initial, extraMax, extraDeadline) => {
          const max = Math.min(initial + extraMax, 86_400);
          const deadline = max + extraDeadline;
          const config = readConfig(
            from({ pollInitialSeconds: initial, pollMaxSeconds: max, pollDeadlineSeconds: deadline }),
          );
          return config.pollInitialSeconds === initial && config.pollMaxSeconds === max && config.pollDeadlineSeconds === deadline;
        },
      ),
      { numRuns: 100 },
    );
  });
});
