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
