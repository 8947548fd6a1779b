import {
  AccountSuspendedException,
  BadRequestException,
  LimitExceededException,
  MessageRejected,
  NotFoundException,
  SESv2Client,
  SESv2ServiceException,
  SendEmailCommand,
  SendingPausedException,
  TooManyRequestsException,
} from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AwsServiceError,
  AwsServiceUnavailableError,
  ConfigurationError,
  MailRejectedError,
  MailSendingDisabledError,
  MailThrottledError,
} from '../../../../functions/adapters/aws/errors';
import { SesMailer } from '../../../../functions/adapters/aws/ses-mailer';
import type { OutgoingMail } from '../../../../functions/domain/ports';

const ses = mockClient(SESv2Client);
const FROM = 'Erasure desk <privacy@desk.example>';
const RECIPIENT = 'subject.person@example.org';
const meta = { $metadata: {} };

const newMail = (overrides: Partial<OutgoingMail> = {}): OutgoingMail => ({
  to: RECIPIENT,
  subject: 'Confirm your erasure request — ✓',
  text: 'Open https://desk.example/verify?token=abc to confirm.',
  kind: 'verification',
  requestId: '0193a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b',
  ...overrides,
});

const newMailer = (configurationSet?: string) => new SesMailer({ client: new SESv2Client({ region: 'eu-west-1' }), from: FROM, configurationSet });

afterEach(() => {
  ses.reset();
});

describe('SesMailer', () => {
  it('sends UTF-8 text and HTML to the one recipient and returns the message id', async () => {
    // Prepare
    ses.on(SendEmailCommand).resolves({ MessageId: 'msg-0001' });
    const mail = newMail({ html: '<p>Open the link to confirm.</p>' });

    // Act
    const result = await newMailer('erasure-desk').send(mail);

    // Assess
    expect(result).toEqual({ messageId: 'msg-0001' });
    expect(ses.commandCalls(SendEmailCommand)[0]!.args[0].input).toEqual({
      FromEmailAddress: FROM,
      Destination: { ToAddresses: [RECIPIENT] },
      Content: {
        Simple: {
          Subject: { Data: mail.subject, Charset: 'UTF-8' },
          Body: { Text: { Data: mail.text, Charset: 'UTF-8' }, Html: { Data: mail.html, Charset: 'UTF-8' } },
        },
      },
      EmailTags: [
        { Name: 'kind', Value: 'verification' },
        { Name: 'requestId', Value: '0193a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b' },
      ],
      ConfigurationSetName: 'erasure-desk',
    });
  });

  it('sends text only, without a configuration set or request tag when none is given', async () => {
    // Prepare
    ses.on(SendEmailCommand).resolves({ MessageId: 'msg-0002' });

    // Act
    await newMailer().send(newMail({ requestId: undefined, kind: 'ops digest' }));

    // Assess
    const input = ses.commandCalls(SendEmailCommand)[0]!.args[0].input;
    expect(input.Content?.Simple?.Body).toEqual({ Text: { Data: expect.any(String), Charset: 'UTF-8' } });
    expect(input).not.toHaveProperty('ConfigurationSetName');
    expect(input.EmailTags).toEqual([{ Name: 'kind', Value: 'ops_digest' }]);
  });

  it('refuses an empty sender at construction', () => {
    expect(() => new SesMailer({ client: new SESv2Client({}), from: ' ' })).toThrow(ConfigurationError);
  });

  it('fails when SES answers without a message id', async () => {
    // Prepare
    ses.on(SendEmailCommand).resolves({});

    // Act
    const outcome = newMailer().send(newMail());

    // Assess
    await expect(outcome).rejects.toThrow(AwsServiceError);
  });

  // Each SDK message repeats the address, as SES's do: it must not survive the translation.
  it.each([
    { code: 'TooManyRequestsException', sdk: () => new TooManyRequestsException({ message: `Rate exceeded for ${RECIPIENT}`, ...meta }), expected: MailThrottledError },
    { code: 'LimitExceededException', sdk: () => new LimitExceededException({ message: `Daily quota exceeded sending to ${RECIPIENT}`, ...meta }), expected: MailThrottledError },
    { code: 'MessageRejected', sdk: () => new MessageRejected({ message: `Email address is not verified: ${RECIPIENT}`, ...meta }), expected: MailRejectedError },
    { code: 'BadRequestException', sdk: () => new BadRequestException({ message: `Invalid address ${RECIPIENT}`, ...meta }), expected: MailRejectedError },
    { code: 'SendingPausedException', sdk: () => new SendingPausedException({ message: `Paused; not sent to ${RECIPIENT}`, ...meta }), expected: MailSendingDisabledError },
    { code: 'AccountSuspendedException', sdk: () => new AccountSuspendedException({ message: `Suspended; not sent to ${RECIPIENT}`, ...meta }), expected: MailSendingDisabledError },
    { code: 'NotFoundException', sdk: () => new NotFoundException({ message: `No configuration set; not sent to ${RECIPIENT}`, ...meta }), expected: ConfigurationError },
    {
      code: 'InternalFailure',
      sdk: () => new SESv2ServiceException({ name: 'InternalFailure', $fault: 'server', message: `Failed for ${RECIPIENT}`, $metadata: { httpStatusCode: 500 } }),
      expected: AwsServiceUnavailableError,
    },
    {
      code: 'AccessDeniedException',
      sdk: () => new SESv2ServiceException({ name: 'AccessDeniedException', $fault: 'client', message: `Denied for ${RECIPIENT}`, $metadata: { httpStatusCode: 403 } }),
      expected: AwsServiceError,
    },
  ])('translates $code into $expected.name without the address', async ({ sdk, expected }) => {
    // Prepare
    const original = sdk();
    ses.on(SendEmailCommand).rejects(original);

    // Act
    const error = await newMailer().send(newMail()).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(expected);
    expect((error as Error).name).toBe(expected.name);
    const cause = (error as Error).cause as Error;
    expect(cause.name).toBe(original.name);
    expect(JSON.stringify([(error as Error).message, cause.message, { ...cause }])).not.toContain(RECIPIENT);
    expect((error as Error).stack ?? '').not.toContain(RECIPIENT);
    expect(cause.stack ?? '').not.toContain(RECIPIENT);
  });

  it('marks throttling as retryable', async () => {
    // Prepare
    ses.on(SendEmailCommand).rejects(new TooManyRequestsException({ message: 'Maximum sending rate exceeded.', ...meta }));

    // Act
    const outcome = newMailer().send(newMail());

    // Assess
    await expect(outcome).rejects.toMatchObject({ name: 'MailThrottledError', retryable: true });
  });
});
