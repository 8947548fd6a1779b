/** Use case (sweeper): a request left VERIFIED is decided and queued. */
import { decryptSubjectId } from '../domain/subject';
import { decideAndQueue } from './decide-and-queue';
import { IntakeDeps } from './intake-deps';

/**
 * The intake's second half for a request left VERIFIED (the process died between verification
 * and queueing): what the sweeper calls. Checks eligibility and queues or rejects, telling a
 * subject known by email unless they were already told. Requests in any other status are left alone.
 * @throws store, snapshot or workflow errors (the sweeper counts them and tries again later).
 */
export async function continueVerified(deps: IntakeDeps, requestId: string): Promise<void> {
  const request = await deps.store.getRequest(requestId);
  if (!request || request.status !== 'VERIFIED') return;
  const timeline = await deps.store.getTimeline(requestId);
  const told = timeline.some((e) => e.type === 'NOTICE_SENT' && (e.details.kind === 'confirmation' || e.details.kind === 'rejection'));
  const to = !told && request.subjectKind === 'email' && request.subjectCipher ? decryptSubjectId(request.subjectCipher, deps.subjectKeys.cipherKey) : undefined;
  await decideAndQueue(deps, request, to);
}
