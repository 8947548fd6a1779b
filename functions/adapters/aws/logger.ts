/**
 * The one structured logger (Powertools). Log request ids, statuses, durations and error names —
 * never an email, an enterprise id, a token or a whole event.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { ENV } from '../env/variables';

export const logger = new Logger({ serviceName: process.env[ENV.POWERTOOLS_SERVICE_NAME] ?? 'erasure-desk' });

/** The name of an error, safe to log (messages may carry data). */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
