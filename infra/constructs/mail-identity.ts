import { CfnOutput } from 'aws-cdk-lib';
import * as ses from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';

export interface MailIdentityProps {
  /** The `mailFrom` context value: an address (`privacy@example.com`) or a domain (`example.com`). */
  readonly mailFrom: string;
}

/**
 * The SES identity mails are sent from, so a deployment on a new account needs no step in the
 * console. An address identity is verified by the link SES mails to it; a domain identity by
 * the three DKIM CNAME records printed as stack outputs.
 *
 * A new account's SES is in the sandbox: it delivers only to verified addresses (and at most 200
 * messages a day) until production access is granted, so the form's verification mail reaches
 * only verified test addresses until then (README, Deploying to AWS).
 */
export class MailIdentity extends Construct {
  readonly identity: ses.EmailIdentity;

  constructor(scope: Construct, id: string, props: MailIdentityProps) {
    super(scope, id);
    const isDomain = !props.mailFrom.includes('@');
    this.identity = new ses.EmailIdentity(this, 'Identity', {
      identity: isDomain ? ses.Identity.domain(props.mailFrom) : ses.Identity.email(props.mailFrom),
    });
    if (isDomain) {
      const records: Array<[string, string]> = [
        [this.identity.dkimDnsTokenName1, this.identity.dkimDnsTokenValue1],
        [this.identity.dkimDnsTokenName2, this.identity.dkimDnsTokenValue2],
        [this.identity.dkimDnsTokenName3, this.identity.dkimDnsTokenValue3],
      ];
      records.forEach(([name, value], index) => {
        new CfnOutput(this, `DkimRecord${index + 1}`, { value: `${name} CNAME ${value}`, description: 'Add to the DNS of the mailFrom domain to verify it for SES' });
      });
    }
  }
}
