/** Wiring of the verify-erasures function: the scheduled read-back of completed erasures. */
import type { KoreSessionsHistory } from '../domain/kore';
import { verifyErasures, type VerifyReport } from '../workflow/verify-erasures';
import type { ApplicationAdapters } from './adapters';
import { awsFunction } from './aws/environment';
import { koreWithBudgetFrom } from './aws/kore';
import { appKeysFrom } from './aws/secrets';

export type VerifyErasuresAdapters = Pick<ApplicationAdapters, 'store' | 'claims' | 'clock' | 'subjectKeys' | 'budget' | 'settings' | 'logger'> & { sessions: KoreSessionsHistory };

export function composeVerifyErasures(a: VerifyErasuresAdapters): () => Promise<VerifyReport> {
  return () =>
    verifyErasures({
      store: a.store,
      claims: a.claims,
      sessions: a.sessions,
      clock: a.clock,
      subjectKeys: a.subjectKeys,
      policy: a.settings.verification,
      ...(a.budget ? { budget: a.budget } : {}),
      logger: a.logger,
    });
}

/** The function in AWS: table, app keys (the subject id to read back with), Kore.ai with the call budget. */
export const verifyErasuresOnAws = awsFunction('verify-erasures', async (base, env) => {
  const { kore, budget } = await koreWithBudgetFrom(env, base);
  return composeVerifyErasures({ ...base, ...(await appKeysFrom(env)), sessions: kore, ...(budget ? { budget } : {}) });
});
