/** The Kore.ai XO Platform adapter: the HTTP client and the user-roles pager. */
export { KoreClient, parseRetryAfter, TOKEN_REFRESH_MARGIN_SECONDS, type KoreClientOptions } from './kore-client';
export { fetchAllUserRoles, pageUserRoles, USER_ROLES_MAX_PAGE_SIZE } from './user-roles-pager';
