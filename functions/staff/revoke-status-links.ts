/** Use case: ops revoke the status links of a request issued so far. */
import { RequestNotFoundError } from '../domain/errors';
import type { Actor } from '../domain/model';
import { OpsDeps, requireReason, ActionResult } from './ops-deps';

/**
 * Revokes every status link of a request issued so far (a forwarded or leaked mail): from now on
 * they answer the same 404 as an unknown id. Links in mails sent later (the next notice) work.
 * Allowed in any status; recorded as STATUS_LINKS_REVOKED with the staff actor and the reason.
 * @throws ReasonRequiredError; RequestNotFoundError for an unknown id.
 */
export async function revokeStatusLinks(deps: OpsDeps, requestId: string, actor: Actor, reason: string | undefined): Promise<ActionResult & { revokedAt: string }> {
  const why = requireReason(reason);
  const revokedAt = deps.clock.now().toISOString();
  const { request } = await deps.store.appendEvent(requestId, (current) => ({
    event: { type: 'STATUS_LINKS_REVOKED', at: revokedAt, actor, attempt: current.attempt, status: current.status, details: { reason: why } },
  }));
  return { request, revokedAt };
}
