/**
 * Part 8, attacks on the audit trail's tamper-evidence, over real HTTP against the local runtime
 * (issue 13, items 1–4), as someone with write access to the table and the checkpoint store:
 *
 * 1. an event of a COMPLETED request rewritten in the table with every later hash and META
 *    recomputed: the next checkpoint run refuses the chain (ChainTamperedError, logged by request
 *    id) and the chain check still reports it — even when a later checkpoint vouches for the rewrite;
 * 2. planted checkpoint objects (a genuine empty checkpoint copied under a far-future key, garbage,
 *    a receipt) are ignored and reported: they neither switch the check off nor break every chain;
 * 3. receipts and checkpoints are signed with different keys and JWS types: a checkpoint does not
 *    verify with the published receipt key, and a receipt does not pass as a checkpoint;
 * 4. where no checkpoint could be compared, the audit JSON and the console say "not verified
 *    against checkpoints", never ok.
 */
import { randomUUID } from 'node:crypto';
import { copyFileSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../functions/adapters/dynamo/clients';
import { buildManifest, checkpointKey, CHECKPOINT_JWS_TYPE, isCheckpointKey, type CheckpointManifest } from '../../functions/domain/checkpoints';
import { createLocalSigner, verifyReceipt } from '../../functions/intake/receipts';
import { checkpointSha256 } from '../../functions/staff/checkpoints';
import { LOCAL_TABLE_NAME } from '../../infra/local/lambda-service';
import { LOCAL_DYNAMO_CREDENTIALS, LOCAL_DYNAMO_REGION } from '../../infra/local/local-dynamo';
import { rewriteChainInTable } from '../support/tamper';
import { clientAddress, confirmLink, freshEmail, mailedRequest, printFigures, raw, startReliabilityRuntime, type ReliabilityRuntime } from './harness';

let rt: ReliabilityRuntime;
let table: DynamoDBDocumentClient;
let checkpointDir: string;
/** A checkpoint signed before any request existed: a genuine manifest with no heads. */
let emptyCheckpoint: string;

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

interface Chain {
  ok: boolean;
  verdict: string;
  summary: string;
  firstBad?: { seq: number; problem: string; checkpointAt?: string };
  checkpoint: { status: string; coveredSeq: number; ignoredObjects: number; earliestAt?: string };
}
interface Detail {
  request: { status: string };
  timeline: { seq: number; type: string; actor: string }[];
  chain: Chain;
}

// A runtime of its own for each attack: a forged checkpoint one test plants (signed with the
// checkpoint key) must not become the history another test starts from.
beforeEach(async () => {
  rt = await startReliabilityRuntime({ checkpointIntervalMs: 0, simulator: { jobDurationMs: 200 } });
  table = createDocumentClient({ endpoint: rt.dynamo.endpoint, region: LOCAL_DYNAMO_REGION, credentials: LOCAL_DYNAMO_CREDENTIALS });
  // The checkpoint bucket's objects, as the local S3 stand-in keeps them.
  checkpointDir = join(rt.dataDir, 's3', signingEnvironment().CHECKPOINT_BUCKET!, 'checkpoints');
  emptyCheckpoint = (await signNow()).key;
});
afterEach(async () => {
  table?.destroy();
  await rt?.close();
});

let submissions = 0;
/** A subject's whole journey: submit, confirm by the mailed link, wait for COMPLETED. */
async function completedRequest(tag: string): Promise<{ requestId: string; statusUrl: string }> {
  const email = freshEmail(tag);
  const r = await raw(`${rt.url}/requests`, { method: 'POST', from: clientAddress(60_000 + submissions++), headers: JSON_HEADERS, body: JSON.stringify({ email }) });
  if (r.status !== 202) throw new Error(`submit answered ${r.status}`);
  const { requestId, statusUrl, verifyUrl } = await mailedRequest(rt.url, email);
  await confirmLink(verifyUrl!);
  const until = Date.now() + 30_000;
  while ((await detail(requestId)).request.status !== 'COMPLETED') {
    if (Date.now() > until) throw new Error(`${requestId} never completed`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await rt.idle();
  return { requestId, statusUrl };
}

async function detail(requestId: string): Promise<Detail> {
  const r = await raw(`${rt.url}/audit/requests/${requestId}`, { headers: { authorization: `Bearer ${rt.auditorToken}` } });
  if (r.status !== 200) throw new Error(`audit detail answered ${r.status}`);
  return JSON.parse(r.text) as Detail;
}

async function consoleChain(requestId: string): Promise<string> {
  const r = await raw(`${rt.url}/console/requests/${requestId}`, { headers: { authorization: `Bearer ${rt.auditorToken}`, accept: 'text/html' } });
  if (r.status !== 200) throw new Error(`console answered ${r.status}`);
  return r.text.match(/<p id="chain"[\s\S]*?<\/p>/)?.[0] ?? '';
}

/**
 * Runs checkpoint signing now (a millisecond later than any before). Resolves the key written and
 * the chains withheld (a ChainTamperedError names them after the checkpoint was written).
 */
async function signNow(): Promise<{ key: string; withheld: string[] }> {
  await new Promise((resolve) => setTimeout(resolve, 2));
  try {
    return { key: (await rt.invoke<{ key: string }>('sign-checkpoints')).key, withheld: [] };
  } catch (error) {
    // The function fails as ChainTamperedError after writing the checkpoint, whose manifest names the withheld chains.
    const e = error as { name?: string; message?: string };
    if (e.name !== 'ChainTamperedError') throw error;
    const key = /checkpoint (\S+):/.exec(e.message ?? '')?.[1];
    if (!key) throw error;
    return { key, withheld: manifestIn(key).withheld.map((w) => w.requestId) };
  }
}

/** The environment the template gives sign-checkpoints (its bucket and key, as the runtime resolved them). */
function signingEnvironment(): Record<string, string> {
  return rt.lambdas.functions().find((f) => f.name === 'sign-checkpoints')!.environment;
}

/** The manifest inside a stored checkpoint (its signature is the reader's business). */
function manifestIn(key: string): CheckpointManifest {
  const [, payload] = readFileSync(join(checkpointDir, key), 'utf8').split('.');
  return JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as CheckpointManifest;
}

/** The checkpoint key as the local KMS stand-in keeps it (what only KMS holds in AWS). */
function checkpointPrivateJwk(): JWK {
  return JSON.parse(readFileSync(join(rt.dataDir, 'kms', `${signingEnvironment().CHECKPOINT_SIGNING_KEY_ID}.json`), 'utf8')) as JWK;
}

function logLinesSince(mark: number): Record<string, unknown>[] {
  return rt.logLines.slice(mark).map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('audit tamper', () => {
  it('refuses to sign a rewritten chain at the next checkpoint and keeps reporting it, whatever is signed later', async () => {
    // Prepare: two completed requests, both vouched for by a checkpoint.
    const victim = await completedRequest('tamper-victim');
    const bystander = await completedRequest('tamper-bystander');
    const first = await signNow();
    expect(first.withheld).toEqual([]);
    expect((await detail(bystander.requestId)).chain).toMatchObject({ ok: true, verdict: 'VERIFIED' });
    const before = await detail(victim.requestId);
    const verifiedEvent = before.timeline.find((e) => e.type === 'IDENTITY_VERIFIED')!;

    // Act: the actor of an event rewritten in the table, later hashes and META recomputed.
    const rewrittenHead = await rewriteChainInTable(table, LOCAL_TABLE_NAME, victim.requestId, verifiedEvent.seq, () => ({ actor: 'staff:mallory' }));
    const rewritten = await detail(victim.requestId);
    const mark = rt.logLines.length;
    const second = await signNow();
    const afterRun = await detail(victim.requestId);
    const consoleAfterRun = await consoleChain(victim.requestId);

    // Assess: signing refused exactly that chain, said so by request id, and the check still reports it.
    expect(rewritten.timeline.find((e) => e.seq === verifiedEvent.seq)!.actor).toBe('staff:mallory');
    expect(rewritten.chain).toMatchObject({ ok: false, verdict: 'BROKEN', firstBad: { problem: 'CHECKPOINT_MISMATCH' } });
    expect(second.withheld).toEqual([victim.requestId]);
    const manifest = manifestIn(second.key);
    expect(manifest.withheld).toEqual([expect.objectContaining({ requestId: victim.requestId, problem: 'CHECKPOINT_MISMATCH' })]);
    expect(manifest.chains.find((c) => c.requestId === victim.requestId)).toEqual(manifestIn(first.key).chains.find((c) => c.requestId === victim.requestId));
    expect(manifest.prev).toEqual({ key: first.key, sha256: checkpointSha256(readFileSync(join(checkpointDir, first.key), 'utf8')) });
    await new Promise((resolve) => setTimeout(resolve, 200)); // the functions' log lines arrive through their containers' stdout
    const errors = logLinesSince(mark).filter((l) => String(l.level).toLowerCase() === 'error' && String(l.message).includes('withheld'));
    expect(errors).toEqual([expect.objectContaining({ requestIds: [victim.requestId] })]);
    expect(afterRun.chain).toMatchObject({ ok: false, verdict: 'BROKEN', firstBad: { problem: 'CHECKPOINT_MISMATCH' } });
    expect(consoleAfterRun).toContain('Chain broken');
    expect((await detail(bystander.requestId)).chain).toMatchObject({ ok: true, verdict: 'VERIFIED' });

    // Act again: a later checkpoint that believed the rewrite (as a signer trusting META did),
    // properly linked and carrying the signed history, with the forged head appended.
    const latest = readdirSync(checkpointDir).filter(isCheckpointKey).sort().at(-1)!;
    const at = new Date(Date.now() + 1);
    const trusting = buildManifest(
      at,
      { key: latest, sha256: checkpointSha256(readFileSync(join(checkpointDir, latest), 'utf8')) },
      manifestIn(latest).chains.map((c) =>
        c.requestId !== victim.requestId ? c : { ...c, heads: [...c.heads, { seq: rewritten.timeline.length, hash: rewrittenHead, at: at.toISOString() }] },
      ),
      [],
    );
    writeFileSync(join(checkpointDir, checkpointKey(at)), await createLocalSigner(checkpointPrivateJwk(), CHECKPOINT_JWS_TYPE).sign({ ...trusting }));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const afterTrusting = await detail(victim.requestId);

    // Assess: the earliest checkpoint covering the rewritten event still speaks.
    expect(afterTrusting.chain).toMatchObject({ ok: false, verdict: 'BROKEN', firstBad: { problem: 'CHECKPOINT_MISMATCH', checkpointAt: manifestIn(first.key).at } });
    printFigures('audit tamper / rewritten chain', {
      rewrittenEvent: verifiedEvent.seq,
      withheldAtNextRun: second.withheld.length,
      verdictAfterRun: afterRun.chain.verdict,
      verdictAfterTrustingCheckpoint: afterTrusting.chain.verdict,
      bystander: (await detail(bystander.requestId)).chain.verdict,
    });
  });

  it('ignores and reports planted checkpoint objects: none switches the check off or breaks every chain', async () => {
    // Prepare: a tampered chain and an untouched one, both signed.
    const victim = await completedRequest('plant-victim');
    const bystander = await completedRequest('plant-bystander');
    const genuine = await signNow();
    const seq = (await detail(victim.requestId)).timeline.at(-1)!.seq;
    await rewriteChainInTable(table, LOCAL_TABLE_NAME, victim.requestId, seq, () => ({ details: { forged: true } }));
    const ignoredBefore = (await detail(bystander.requestId)).chain.checkpoint.ignoredObjects;
    const mark = rt.logLines.length;

    // Act 1: garbage under the newest-looking key.
    writeFileSync(join(checkpointDir, 'checkpoint-2998-01-01T00-00-00-000Z.jws'), 'garbage, not a JWS');
    const withGarbage = await detail(bystander.requestId);
    // Act 2: a genuine checkpoint with an empty head list, copied under a far-future key.
    copyFileSync(join(checkpointDir, emptyCheckpoint), join(checkpointDir, 'checkpoint-2999-12-31T23-59-59-999Z.jws'));
    const victimWithEmptyFuture = await detail(victim.requestId);
    // Act 3: a receipt, planted as a checkpoint, and an object under an unexpected name.
    const { receipt } = JSON.parse((await raw((await completedRequest('plant-receipt')).statusUrl, { headers: { accept: 'application/json' } })).text) as { receipt: string };
    writeFileSync(join(checkpointDir, checkpointKey(new Date(Date.now() + 60_000))), receipt);
    writeFileSync(join(checkpointDir, `latest-${randomUUID()}.jws`), receipt);
    const bystanderAfter = await detail(bystander.requestId);
    const next = await signNow();

    // Assess
    expect(withGarbage.chain).toMatchObject({ ok: true, verdict: 'VERIFIED' });
    expect(victimWithEmptyFuture.chain).toMatchObject({ ok: false, verdict: 'BROKEN', firstBad: { problem: 'CHECKPOINT_MISMATCH' } });
    expect(bystanderAfter.chain).toMatchObject({ ok: true, verdict: 'VERIFIED' });
    expect(bystanderAfter.chain.checkpoint.ignoredObjects - ignoredBefore).toBe(4);
    expect(manifestIn(next.key).prev!.key).toBe(genuine.key);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Each container reading the bucket reports an object once: the audit API's reports.
    const ignored = logLinesSince(mark).filter((l) => l.message === 'checkpoint object ignored' && l.function === 'audit-api');
    expect(ignored.map((l) => l.reason).sort()).toEqual(['BAD_SIGNATURE', 'BAD_SIGNATURE', 'KEY_MISMATCH', 'UNEXPECTED_KEY']);
    expect(JSON.stringify(ignored)).not.toMatch(/latest-/);
    printFigures('audit tamper / planted checkpoints', {
      planted: 4,
      ignored: ignored.length,
      garbage: withGarbage.chain.verdict,
      emptyFarFutureCopy: victimWithEmptyFuture.chain.verdict,
      bystander: bystanderAfter.chain.verdict,
    });
  });

  it('signs receipts and checkpoints with different keys and types: neither passes as the other', async () => {
    // Prepare
    const { statusUrl } = await completedRequest('keys');
    const { key } = await signNow();
    const { receipt } = JSON.parse((await raw(statusUrl, { headers: { accept: 'application/json' } })).text) as { receipt: string };
    const jwks = JSON.parse((await raw(`${rt.url}/.well-known/jwks.json`)).text) as { keys: JWK[] };
    const checkpoint = readFileSync(join(checkpointDir, key), 'utf8');
    const receiptKey = await importJWK(jwks.keys[0]!, 'ES256');

    // Act
    const checkpointUnderReceiptKey = await compactVerify(checkpoint, receiptKey).then(
      () => 'verifies',
      () => 'refused',
    );
    const checkpointAsReceipt = await verifyReceipt(checkpoint, jwks.keys[0] as Record<string, unknown>).then(
      () => 'accepted',
      (e: Error) => e.name,
    );

    // Assess
    expect(decodeProtectedHeader(receipt).typ).toBe('erasure-receipt+jws');
    expect(decodeProtectedHeader(checkpoint).typ).toBe('audit-checkpoint+jws');
    expect(await verifyReceipt(receipt, jwks.keys[0] as Record<string, unknown>)).toMatchObject({ typ: 'erasure-receipt' });
    expect(jwks.keys).toHaveLength(1);
    expect(checkpointUnderReceiptKey).toBe('refused');
    expect(checkpointAsReceipt).toBe('ReceiptInvalidError');
    printFigures('audit tamper / signing keys', { receiptTyp: decodeProtectedHeader(receipt).typ, checkpointTyp: decodeProtectedHeader(checkpoint).typ, checkpointUnderReceiptKey, checkpointAsReceipt });
  });

  it('says "not verified against checkpoints" where no checkpoint could be compared, in the JSON and on the console', async () => {
    // Prepare: a request no checkpoint covers yet.
    const { requestId } = await completedRequest('truth');

    // Act 1: nothing signed since it was made.
    const uncovered = await detail(requestId);
    const uncoveredPage = await consoleChain(requestId);
    // Act 2: the checkpoint store unreadable (S3 failing every call of the audit API and the console).
    rt.aws.injectFault('audit-api', 's3', 'InternalError', 50);
    rt.aws.injectFault('console', 's3', 'InternalError', 50);
    let unreadable: Detail;
    let unreadablePage: string;
    try {
      unreadable = await detail(requestId);
      unreadablePage = await consoleChain(requestId);
    } finally {
      rt.aws.clearFaults();
    }
    // Act 3: covered by a checkpoint.
    await signNow();
    const covered = await detail(requestId);

    // Assess
    expect(uncovered.chain).toMatchObject({ verdict: 'NOT_VERIFIED_AGAINST_CHECKPOINTS', checkpoint: { status: 'not-covered', coveredSeq: 0 } });
    expect(uncovered.chain.summary).toMatch(/^Not verified against checkpoints: no signed checkpoint covers this request yet\./);
    expect(uncoveredPage).toContain('Not verified against checkpoints');
    expect(uncoveredPage).not.toMatch(/class="ok"|intact|Verified against checkpoints/);
    expect(unreadable.chain).toMatchObject({ verdict: 'NOT_VERIFIED_AGAINST_CHECKPOINTS', checkpoint: { status: 'unavailable' } });
    expect(unreadable.chain.summary).toContain('the checkpoints could not be read');
    expect(unreadablePage).toContain('Not verified against checkpoints: the checkpoints could not be read');
    expect(covered.chain).toMatchObject({ ok: true, verdict: 'VERIFIED', checkpoint: { status: 'compared' } });
    printFigures('audit tamper / honest verdicts', { uncovered: uncovered.chain.verdict, unreadable: unreadable.chain.verdict, covered: covered.chain.verdict });
  });
});

