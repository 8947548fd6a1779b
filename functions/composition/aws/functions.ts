/** Every function's AWS wiring by name, for the tests that build each one from the template's environment. */
import type { FunctionName } from '../../adapters/env/capabilities';
import { auditApiOnAws } from '../audit-api';
import { consoleOnAws } from '../console';
import { checkErasureStatusOnAws } from '../check-erasure-status';
import { recordOutcomeOnAws } from '../record-outcome';
import { submitErasureOnAws } from '../submit-erasure';
import { opsApiOnAws } from '../ops-api';
import { publicApiOnAws } from '../public-api';
import { refreshRolesSnapshotOnAws } from '../refresh-roles-snapshot';
import { runCanaryOnAws } from '../run-canary';
import { signCheckpointsOnAws } from '../sign-checkpoints';
import { sweepOnAws } from '../sweep-requests';
import { verifyErasuresOnAws } from '../verify-erasures';
import type { AwsFunction } from './environment';

export const AWS_FUNCTIONS: Record<FunctionName, AwsFunction<unknown>> = {
  'public-api': publicApiOnAws,
  'audit-api': auditApiOnAws,
  'ops-api': opsApiOnAws,
  console: consoleOnAws,
  'submit-erasure': submitErasureOnAws,
  'check-erasure-status': checkErasureStatusOnAws,
  'record-outcome': recordOutcomeOnAws,
  'refresh-roles-snapshot': refreshRolesSnapshotOnAws,
  'sweep-requests': sweepOnAws,
  'run-canary': runCanaryOnAws,
  'sign-checkpoints': signCheckpointsOnAws,
  'verify-erasures': verifyErasuresOnAws,
};
