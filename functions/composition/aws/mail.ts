/** The SES mailer, for the functions that send mail (when the deployment has a sender, MAIL_FROM). */
import type { Mailer } from '../../domain/ports';
import { getOptionalStringFromEnv } from '../../adapters/env/settings';
import { unavailable, type Env } from './environment';
import { ENV } from '../../adapters/env/variables';

export async function mailerFrom(env: Env): Promise<Mailer> {
  const from = getOptionalStringFromEnv(ENV.MAIL_FROM, env);
  if (!from) return unavailable('email (MAIL_FROM)');
  const [{ SESv2Client }, { SesMailer }] = await Promise.all([import('@aws-sdk/client-sesv2'), import('../../adapters/aws/ses-mailer')]);
  return new SesMailer({ client: new SESv2Client({}), from });
}
