/**
 * CDK CLI entry (`cdk.json`: `npx tsx infra/bin/app.ts`). Configuration comes from CDK context
 * (see infra/config.ts); cdk-nag AwsSolutions checks run on every synth and fail it on any
 * unacknowledged finding. The stack is environment-agnostic unless the CLI knows the account.
 */
import { createApp } from '../synth';

const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;
createApp({ env: account && region ? { account, region } : undefined });
