/** The intake's dependencies, shared by the functions that run intake code (public API, ops, sweeper, workflow notices). */
import { type IntakeDeps } from '../intake/intake-deps';
import { createNoticeSender } from '../intake/notice-sender';
import type { ApplicationAdapters } from './adapters';

export type IntakeAdapters = Pick<
  ApplicationAdapters,
  'store' | 'claims' | 'tokens' | 'rateLimiter' | 'mailer' | 'receiptSigner' | 'snapshots' | 'workflow' | 'clock' | 'subjectKeys' | 'linkKey' | 'publicBaseUrl' | 'settings' | 'site' | 'logger'
>;

export function intakeDepsOf(a: IntakeAdapters): IntakeDeps {
  return {
    store: a.store,
    claims: a.claims,
    tokens: a.tokens,
    rateLimiter: a.rateLimiter,
    mailer: a.mailer,
    signer: a.receiptSigner,
    snapshots: a.snapshots,
    workflow: a.workflow,
    clock: a.clock,
    subjectKeys: a.subjectKeys,
    linkKey: a.linkKey,
    publicBaseUrl: a.publicBaseUrl,
    limits: {
      ...(a.settings.intakeStaleClaimSeconds !== undefined ? { staleClaimSeconds: a.settings.intakeStaleClaimSeconds } : {}),
      ...(a.settings.verificationResendSeconds !== undefined ? { resendAfterSeconds: a.settings.verificationResendSeconds } : {}),
    },
    ...(a.site ? { site: a.site } : {}),
    logger: a.logger,
  };
}

/** The notices the workflow and ops send (mail + NOTICE_SENT). */
export function noticesOf(a: IntakeAdapters): ReturnType<typeof createNoticeSender> {
  return createNoticeSender(intakeDepsOf(a));
}
