/**
 * The shapes of the Kore.ai platform's answers as the client accepts them (docs/kore-platform.md):
 * an answer that does not have its shape is a permanent error, never passed on to the domain.
 */
import * as z from '../../domain/validation';

export const eraseAcceptedSchema = z.object({
  requestId: z.string().check(z.minLength(1)),
  status: z.string(),
});

export const eraseStatusSchema = z.object({
  _id: z.string().check(z.minLength(1)),
  createdOn: z.optional(z.string()),
  lastUpdatedOn: z.optional(z.string()),
  RemoveDataFromAllBots: z.optional(z.boolean()),
  // A job that has not produced per-user results yet may answer without `response`.
  response: z.optional(z.array(z.object({ userId: z.string(), status: z.string() }))),
});

const roleUserSchema = z.object({
  username: z.optional(z.string()),
  emailId: z.optional(z.string()),
  orgUserId: z.optional(z.string()),
  accountId: z.optional(z.string()),
  isDeveloper: z.optional(z.boolean()),
  canCreateBot: z.optional(z.boolean()),
  userId: z.string().check(z.minLength(1)),
  btRoles: z.optional(
    z.array(
      z.object({
        roleId: z.string(),
        roleName: z.string(),
        botId: z.string(),
        botName: z.optional(z.string()),
        groups: z.optional(z.array(z.unknown())),
      }),
    ),
  ),
  // The entry shape is not documented: read what has a string roleName, flag anything else.
  adminRoles: z.pipe(z.optional(z.array(z.unknown())), z.transform((entries) => entries?.map(adminRoleOf))),
});

/** One admin-role entry as the domain reads it; an unknown shape is flagged, never dropped. */
function adminRoleOf(entry: unknown): { roleId?: string; roleName: string; unrecognised?: true } {
  if (entry !== null && typeof entry === 'object' && typeof (entry as { roleName?: unknown }).roleName === 'string') {
    const { roleId, roleName } = entry as { roleId?: unknown; roleName: string };
    return { roleName, ...(typeof roleId === 'string' && { roleId }) };
  }
  return { roleName: '', unrecognised: true };
}

export const userRolesPageSchema = z.object({
  total: z.int().check(z.nonnegative()),
  availableMore: z.optional(z.boolean()),
  users: z.array(roleUserSchema),
});

/**
 * A Sessions History answer, read leniently (its shape is an assumption, docs/kore-platform.md):
 * the sessions under `sessions` (or the answer itself when it is an array), each one's bot under
 * `botId` or `streamId`; whether more follow from `moreAvailable`, `availableMore` or `total`,
 * else from a full page. Anything else in a session (its content) is never read.
 */
export function sessionsPageOf(json: unknown, skip: number, limit: number): { sessions: { botId?: string }[]; moreAvailable: boolean } | undefined {
  const body = (Array.isArray(json) ? { sessions: json } : json) as { sessions?: unknown; moreAvailable?: unknown; availableMore?: unknown; total?: unknown } | null;
  if (body === null || typeof body !== 'object' || !Array.isArray(body.sessions)) return undefined;
  const sessions = body.sessions.map((entry: unknown) => {
    const e = (entry ?? {}) as { botId?: unknown; streamId?: unknown };
    const botId = typeof e.botId === 'string' ? e.botId : typeof e.streamId === 'string' ? e.streamId : undefined;
    return botId === undefined ? {} : { botId };
  });
  const more =
    typeof body.moreAvailable === 'boolean'
      ? body.moreAvailable
      : typeof body.availableMore === 'boolean'
        ? body.availableMore
        : typeof body.total === 'number'
          ? skip + sessions.length < body.total
          : sessions.length >= limit;
  return { sessions, moreAvailable: more && sessions.length > 0 };
}
