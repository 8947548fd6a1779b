/**
 * The DynamoDB document client, created once per container: callers keep the result at module
 * scope (or build it in the local runtime) and pass it to the stores.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface DocumentClientConfig {
  /** Another endpoint than AWS's, e.g. dynalite's `http://127.0.0.1:<port>`. */
  endpoint?: string;
  region?: string;
  /** Explicit credentials (dynalite accepts any); otherwise the default provider chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * A document client that drops `undefined` members (optional fields of the model) instead of
 * failing on them. Numbers stay numbers; sets are not used.
 */
export function createDocumentClient(config: DocumentClientConfig = {}): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(config.region ? { region: config.region } : {}),
    ...(config.credentials ? { credentials: config.credentials } : {}),
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
    unmarshallOptions: { wrapNumbers: false },
  });
}
