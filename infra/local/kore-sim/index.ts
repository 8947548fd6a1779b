/** The Kore.ai XO Platform simulator: server, demo account identities and development credentials. */
export * from './account';
export * from './credentials';
export * from './server';
export * from './sessions';
