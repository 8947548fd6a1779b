/**
 * Walking the paginated user-roles data of an account (tens of thousands of users) one page at
 * a time, so a caller can index each page and drop it before the next arrives.
 */
import type { KorePlatform, KoreRoleUser, KoreUserRolesPage } from './kore';

/** The platform answers at most 50 users a page. */
export const USER_ROLES_MAX_PAGE_SIZE = 50;

/**
 * Yields the account's user-roles pages in order, starting at offset 0 and moving on by the
 * number of users each page held, until `availableMore` is false. Nothing is kept between pages.
 *
 * A platform that claims more pages forever cannot loop us: the walk also stops on an empty page
 * and once the offset reaches the `total` the platform announced.
 * @throws RangeError for a page size outside 1..50; whatever `platform.getUserRoles` throws
 * (`KoreRetryableError`, `KoreAuthError`, `KorePermanentError`) ends the walk at that page.
 */
export async function* pageUserRoles(platform: KorePlatform, pageSize = USER_ROLES_MAX_PAGE_SIZE): AsyncGenerator<KoreUserRolesPage, void, undefined> {
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > USER_ROLES_MAX_PAGE_SIZE) {
    throw new RangeError(`pageSize must be an integer between 1 and ${USER_ROLES_MAX_PAGE_SIZE}`);
  }
  let offset = 0;
  for (;;) {
    const page = await platform.getUserRoles(offset, pageSize);
    if (page.users.length === 0) return;
    yield page;
    offset += page.users.length;
    if (!page.availableMore || offset >= page.total) return;
  }
}

/**
 * Every user of the account in one array. Convenient for small accounts, tools and tests; the
 * snapshot refresh should consume `pageUserRoles` instead to keep memory flat.
 * @throws as `pageUserRoles`.
 */
export async function fetchAllUserRoles(platform: KorePlatform, pageSize = USER_ROLES_MAX_PAGE_SIZE): Promise<KoreRoleUser[]> {
  const users: KoreRoleUser[] = [];
  for await (const page of pageUserRoles(platform, pageSize)) users.push(...page.users);
  return users;
}
