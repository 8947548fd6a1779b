/**
 * Mail through Amazon SES (API v2): the `Mailer` port in AWS (locally the outbox stands in).
 *
 * Each message is tagged with its kind and request id (never the address), so bounces and
 * complaints published through the configuration set can be traced back to a request.
 */
import { SendEmailCommand, type MessageTag, type SESv2Client } from '@aws-sdk/client-sesv2';
import type { Mailer, OutgoingMail } from '../../domain/ports';
import {
  AwsServiceError,
  ConfigurationError,
  MailRejectedError,
  MailSendingDisabledError,
  MailThrottledError,
  awsCall,
  redactAwsError,
  translateAwsError,
} from './errors';

export interface SesMailerOptions {
  /** Created once per container by the caller. */
  client: SESv2Client;
  /** A verified sender, e.g. `Erasure desk <privacy@example.com>`. */
  from: string;
  /** The configuration set that publishes delivery events (bounces, complaints). */
  configurationSet?: string;
}

const THROTTLED = new Set(['TooManyRequestsException', 'LimitExceededException', 'ThrottlingException', 'Throttling']);
const DISABLED = new Set(['SendingPausedException', 'AccountSuspendedException', 'MailFromDomainNotVerifiedException']);
const REJECTED = new Set(['MessageRejected', 'BadRequestException']);

/** SES tag values may hold ASCII letters, digits, `_` and `-` only, up to 256 characters. */
function tagValue(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 256) || '_';
}

export class SesMailer implements Mailer {
  private readonly client: SESv2Client;
  private readonly from: string;
  private readonly configurationSet: string | undefined;

  /** @throws ConfigurationError when the sender is empty. */
  constructor(options: SesMailerOptions) {
    if (!options.from.trim()) throw new ConfigurationError('The SES sender address is empty');
    this.client = options.client;
    this.from = options.from;
    this.configurationSet = options.configurationSet || undefined;
  }

  /**
   * Sends one message as UTF-8 text (and HTML when given) and returns SES's message id.
   * @throws MailThrottledError (retryable) when SES throttles or a sending quota is used up;
   *   MailRejectedError when SES refuses this message; MailSendingDisabledError when the account
   *   or sender cannot send; ConfigurationError when the configuration set does not exist;
   *   AwsServiceUnavailableError or AwsServiceError otherwise.
   */
  async send(mail: OutgoingMail): Promise<{ messageId: string }> {
    const tags: MessageTag[] = [{ Name: 'kind', Value: tagValue(mail.kind) }];
    if (mail.requestId) tags.push({ Name: 'requestId', Value: tagValue(mail.requestId) });
    const out = await awsCall(
      'SES',
      'SendEmail',
      () =>
        this.client.send(
          new SendEmailCommand({
            FromEmailAddress: this.from,
            Destination: { ToAddresses: [mail.to] },
            Content: {
              Simple: {
                Subject: { Data: mail.subject, Charset: 'UTF-8' },
                Body: {
                  Text: { Data: mail.text, Charset: 'UTF-8' },
                  ...(mail.html !== undefined ? { Html: { Data: mail.html, Charset: 'UTF-8' } } : {}),
                },
              },
            },
            EmailTags: tags,
            ...(this.configurationSet ? { ConfigurationSetName: this.configurationSet } : {}),
          }),
        ),
      (raw) => {
        // SES's messages can repeat the recipient address: neither our message nor the cause keeps it.
        const error = redactAwsError(raw);
        const name = error.name;
        if (THROTTLED.has(name)) return new MailThrottledError(`SES is throttling (${name})`, { cause: error });
        if (DISABLED.has(name)) return new MailSendingDisabledError(`SES cannot send now (${name})`, { cause: error });
        if (REJECTED.has(name)) return new MailRejectedError(`SES rejected the message (${name})`, { cause: error });
        if (name === 'NotFoundException') return new ConfigurationError('The SES configuration set does not exist', { cause: error });
        return translateAwsError(error, 'SES', 'SendEmail');
      },
    );
    if (!out.MessageId) throw new AwsServiceError('SES SendEmail returned no message id');
    return { messageId: out.MessageId };
  }
}
