/** The Kore.ai XO Platform adapter: the HTTP client and the user-roles pager. */
export { KoreClient, parseRetryAfter, platformMessageOf, sanitisePlatformMessage, RATE_LIMIT_MESSAGE, DEFAULT_KORE_SUBJECT, type KoreClientOptions } from './kore-client';
export { fetchAllUserRoles, pageUserRoles, USER_ROLES_MAX_PAGE_SIZE } from '../../domain/user-roles-pager';
