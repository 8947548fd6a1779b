/**
 * The one structured logger (Powertools). Log request ids, statuses, durations and error names —
 * never an email, an enterprise id, a token or a whole event.
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Logger } from '../../domain/ports';
import { ENV } from '../env/variables';

export const powertoolsLogger = new PowertoolsLogger({ serviceName: process.env[ENV.POWERTOOLS_SERVICE_NAME] ?? 'erasure-desk' });

/** The domain's logger port over Powertools: what every use case of a Lambda logs through. */
export const applicationLogger: Logger = {
  info: (message, data = {}) => powertoolsLogger.info(message, data),
  warn: (message, data = {}) => powertoolsLogger.warn(message, data),
  error: (message, data = {}) => powertoolsLogger.error(message, data),
};

/** The name of an error, safe to log (messages may carry data). */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
