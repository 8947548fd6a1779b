/** Wiring of the sweep-requests function: the sweeper, continuing and reminding through the intake. */
import { continueVerified } from '../intake/continue-verified';
import { remindUnverified } from '../intake/remind-unverified';
import { sweepRequests, type SweepReport } from '../workflow/sweep-requests';
import { intakeDepsOf, type IntakeAdapters } from './intake';
import { awsFunction } from './aws/environment';
import { mailerFrom } from './aws/mail';
import { appKeysFrom } from './aws/secrets';
import { workflowFrom } from './aws/workflow';

export type Sweep = (stuckAfterSeconds?: number) => Promise<SweepReport>;

export function composeSweep(a: IntakeAdapters): Sweep {
  const intake = intakeDepsOf(a);
  return (stuckAfterSeconds = a.settings.stuckAfterSeconds) =>
    sweepRequests({
      store: a.store,
      workflow: a.workflow,
      claims: a.claims,
      clock: a.clock,
      continueVerified: (requestId) => continueVerified(intake, requestId),
      remindUnverified: (requestId) => remindUnverified(intake, requestId),
      stuckAfterSeconds,
      verificationTtlSeconds: a.settings.verificationTtlSeconds,
      receivedStaleSeconds: a.settings.receivedStaleSeconds,
      // Failed sweep steps are logged by request id, status and error name (never personal data).
      logger: a.logger,
    });
}

/** The function in AWS: table, app keys, workflow, mail (reminders and rejections). */
export const sweepOnAws = awsFunction('sweep-requests', async (base, env) => composeSweep({ ...base, ...(await appKeysFrom(env)), workflow: await workflowFrom(env), mailer: await mailerFrom(env) }));
