/**
 * `npm run token -- auditor|ops [subject]`: prints a bearer token from the local development
 * issuer (keys under `$DATA_DIR/dev-issuer`, the same the local runtime serves as its JWKS).
 */
import { join } from 'node:path';
import { createDevIssuer, DEV_ISSUER_DEFAULTS } from '../adapters/http/staff/dev-issuer';

async function main(argv: string[]): Promise<number> {
  const [role, subject] = argv;
  if (role !== 'auditor' && role !== 'ops') {
    process.stderr.write('usage: npm run token -- auditor|ops [subject]\n');
    return 2;
  }
  const dataDir = process.env.DATA_DIR ?? '.data';
  const issuer = await createDevIssuer({
    dir: join(dataDir, 'dev-issuer'),
    // The issuer is a name, not an address: it must equal what the local runtime verifies against.
    issuer: process.env.DEV_ISSUER ?? DEV_ISSUER_DEFAULTS.issuer,
    audience: process.env.DEV_AUDIENCE ?? DEV_ISSUER_DEFAULTS.audience,
  });
  process.stdout.write(`${await issuer.issueToken(role, subject)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`token: ${error instanceof Error ? error.name : 'error'}\n`);
    process.exit(1);
  },
);
