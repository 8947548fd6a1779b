/** The notices the workflow and ops send through the intake's mailing (completion, failure, rejection, extension). */
import type { NoticeSender } from '../workflow/task-deps';
import type { ErasureRequest } from '../domain/model';
import { decryptSubjectId } from '../domain/subject';
import { composeNotice } from './notices';
import { IntakeDeps } from './intake-deps';
import { notify } from './mailing';

/** The mail kinds recorded in NOTICE_SENT for the workflow's notices. */
export const WORKFLOW_MAIL_KINDS = { completed: 'completion', 'failed-needs-staff': 'failure', rejected: 'rejection' } as const;

/**
 * The notices the workflow and ops send (completion, failure that needs staff, rejection,
 * deadline extension): worded by `composeNotice`, sent by the mailer, recorded as NOTICE_SENT.
 * Subjects known only by an enterprise id (submitted on their behalf) get no email.
 */
export function createNoticeSender(deps: IntakeDeps): NoticeSender & { notifyExtension(request: ErasureRequest, reason: string): Promise<void> } {
  return {
    async notify(request, plainSubjectId, kind) {
      if (request.subjectKind !== 'email') return;
      await notify(deps, plainSubjectId, kind, WORKFLOW_MAIL_KINDS[kind], request, kind === 'rejected' && request.rejection ? { rejection: request.rejection } : {});
    },
    async notifyExtension(request, reason) {
      if (request.subjectKind !== 'email' || !request.subjectCipher) return;
      const to = decryptSubjectId(request.subjectCipher, deps.subjectKeys.cipherKey);
      await notify(deps, to, 'extended', 'extension', request, { extension: { reason, dueAt: request.dueAt } });
    },
  };
}
