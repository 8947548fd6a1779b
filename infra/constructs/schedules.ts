import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ROLES_REFRESH_SCHEDULE_SECONDS } from '../../functions/adapters/kore/role-paging-settings';

export interface SchedulesProps {
  readonly refreshRolesSnapshot: lambda.IFunction;
  readonly sweepRequests: lambda.IFunction;
  readonly signCheckpoints: lambda.IFunction;
  readonly verifyErasures: lambda.IFunction;
  /** Only when the canary is configured. */
  readonly runCanary?: lambda.IFunction;
}

/** Periodic jobs, each an EventBridge rule with a Lambda target (two retries, events expire after 1 h). */
export class Schedules extends Construct {
  readonly rules: events.Rule[] = [];

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    const jobs: Array<[string, lambda.IFunction | undefined, Duration, string]> = [
      // Every 5 minutes: a run continues a paced refresh or starts one when due (the cadence adapts to
      // the account's size, functions/domain/role-paging.ts); an idle run reads two items. A run lasts
      // 30 s longer than this, so while a refresh is under way one is always there (one pages: a lease).
      ['RefreshRolesSnapshot', props.refreshRolesSnapshot, Duration.seconds(ROLES_REFRESH_SCHEDULE_SECONDS), 'Page the privileged-identities snapshot within the Kore.ai call budget'],
      ['SweepRequests', props.sweepRequests, Duration.minutes(5), 'Restart stuck, expire unverified, count overdue requests'],
      ['SignCheckpoints', props.signCheckpoints, Duration.hours(1), 'Sign audit-chain checkpoints'],
      // Every 5 minutes: the lag before a read-back (5 min by default) is what decides when it happens.
      ['VerifyErasures', props.verifyErasures, Duration.minutes(5), 'Read completed erasures back from Kore.ai within the call budget'],
      ['RunCanary', props.runCanary, Duration.hours(6), 'End-to-end canary erasure'],
    ];
    for (const [id, fn, every, description] of jobs) {
      if (!fn) continue;
      const rule = new events.Rule(this, id, { schedule: events.Schedule.rate(every), description });
      rule.addTarget(new targets.LambdaFunction(fn, { retryAttempts: 2, maxEventAge: Duration.hours(1) }));
      this.rules.push(rule);
    }
  }
}
