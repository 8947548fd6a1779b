/** Use case (sweeper): a request awaiting verification gets its link once more. */
import { decryptSubjectId } from '../domain/subject';
import { IntakeDeps } from './intake-deps';
import { maybeResendVerification } from './mailing';

/**
 * The sweeper's reminder: a request still awaiting verification gets its link once more, once,
 * `resendAfterSeconds` after the first mail. It covers a subject who missed the mail, and a mail
 * lost to a crash between recording VERIFICATION_SENT and handing the mail over.
 * @returns whether a reminder went out.
 * @throws store or mailer errors (the sweeper counts them and tries again at its next pass).
 */
export async function remindUnverified(deps: IntakeDeps, requestId: string): Promise<boolean> {
  const request = await deps.store.getRequest(requestId);
  if (!request || request.status !== 'AWAITING_VERIFICATION' || request.subjectKind !== 'email' || !request.subjectCipher) return false;
  const timeline = await deps.store.getTimeline(requestId);
  const mails = timeline.filter((e) => e.type === 'VERIFICATION_SENT' || (e.type === 'NOTICE_SENT' && e.details.kind === 'verification'));
  if (mails.length !== 1) return false;
  await maybeResendVerification(deps, request, decryptSubjectId(request.subjectCipher, deps.subjectKeys.cipherKey), deps.clock.now());
  const after = await deps.store.getTimeline(requestId);
  return after.some((e) => e.seq > timeline.at(-1)!.seq && e.type === 'NOTICE_SENT' && e.details.kind === 'verification');
}
