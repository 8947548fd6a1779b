/**
 * Fresh requests and event builders for the store tests. Every call returns new objects.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { assertTransition } from '../../../functions/domain/lifecycle';
import type { Actor, AuditEventInput, AuditEventType, ErasureRequest, JsonValue, RequestStatus } from '../../../functions/domain/model';
import type { NewRequest, RequestPatch } from '../../../functions/domain/ports';

export const newRequestId = () => `req-${randomUUID()}`;
export const newSubjectHash = () => randomBytes(32).toString('hex');

export function newRequest(overrides: Partial<NewRequest> = {}): NewRequest {
  const receivedAt = overrides.receivedAt ?? '2026-03-10T09:15:00.000Z';
  return {
    requestId: newRequestId(),
    status: 'RECEIVED',
    channel: 'web',
    subjectHash: newSubjectHash(),
    subjectKind: 'email',
    scope: { botIds: [] },
    scopeKey: '*',
    receivedAt,
    dueAt: '2026-04-10T09:15:00.000Z',
    attempt: 0,
    subjectCipher: `cipher:${randomBytes(12).toString('base64url')}`,
    ...overrides,
  };
}

export function receivedEvent(request: Pick<NewRequest, 'receivedAt' | 'channel' | 'status'>): AuditEventInput {
  return { type: 'REQUEST_RECEIVED', at: request.receivedAt, actor: 'subject', attempt: 0, status: request.status, details: { channel: request.channel } };
}

/** What the intercepting client shows a test: the command object as sent. */
export interface SentCommand {
  input: Record<string, unknown>;
}

type Build = (current: ErasureRequest) => { event: AuditEventInput; patch?: RequestPatch };

/**
 * A lifecycle transition to `to`, refused by the lifecycle table when illegal (as the use cases do).
 * A transition that starts an attempt bumps `attempt` in the event and the patch.
 */
export function transition(to: RequestStatus, options: { actor?: Actor; details?: Record<string, JsonValue>; patch?: RequestPatch; at?: string } = {}): Build {
  return (current) => {
    const move = assertTransition(current.status, to);
    const attempt = move.newAttempt ? current.attempt + 1 : current.attempt;
    return {
      event: { type: move.event, at: options.at ?? '2026-03-11T10:00:00.000Z', actor: options.actor ?? 'system:test', attempt, status: to, details: options.details ?? {} },
      patch: { ...(move.newAttempt ? { attempt } : {}), ...options.patch },
    };
  };
}

/** An event that records a step without changing the status. */
export function note(details: Record<string, JsonValue>, type: AuditEventType = 'NOTICE_SENT'): Build {
  return (current) => ({
    event: { type, at: '2026-03-11T11:00:00.000Z', actor: 'system:test', attempt: current.attempt, status: current.status, details },
  });
}

/**
 * Wraps a document client so a test can act before a chosen command is sent (to pause a writer
 * or let a competitor in at an exact point).
 */
export function interceptingClient(
  client: DynamoDBDocumentClient,
  before: (command: SentCommand) => Promise<void> | void,
): DynamoDBDocumentClient {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'send') {
        return async (command: SentCommand) => {
          await before(command);
          return target.send(command as never);
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
}

/** True for the PutItem of an event item (not META, not a claim). */
export function isEventPut(command: SentCommand): boolean {
  const item = command.input.Item as Record<string, unknown> | undefined;
  return command instanceof PutCommand && typeof item?.sk === 'string' && item.sk.startsWith('EVT#');
}

/** True for the projection update of a META item. */
export function isMetaUpdate(command: SentCommand): boolean {
  const key = command.input.Key as Record<string, unknown> | undefined;
  return command instanceof UpdateCommand && key?.sk === 'META';
}

/** A promise and its resolver, to hold a writer at a point. */
export function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}
