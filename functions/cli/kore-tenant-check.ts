/**
 * `npm run kore:check`: checks a real tenant's configuration from KORE_BASE_URL, KORE_CLIENT_ID
 * and KORE_CLIENT_SECRET (the app's credentials; the secret is never printed). Read-only: two GET
 * calls and one POST to the sessions search, nothing erased. Exits 0 when everything looks ready, 1 when a check failed, 2 when the
 * configuration is missing.
 */
import { checkTenant, formatReport } from '../adapters/kore/tenant-check';

async function main(): Promise<number> {
  const missing = ['KORE_BASE_URL', 'KORE_CLIENT_ID', 'KORE_CLIENT_SECRET'].filter((name) => !process.env[name]?.trim());
  if (missing.length > 0) {
    console.error(`kore:check needs ${missing.join(', ')} (the tenant's host and the admin-console app's credentials)`);
    return 2;
  }
  const report = await checkTenant({
    baseUrl: process.env.KORE_BASE_URL!.trim(),
    clientId: process.env.KORE_CLIENT_ID!.trim(),
    clientSecret: process.env.KORE_CLIENT_SECRET!,
  });
  process.stdout.write(formatReport(report));
  return report.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`kore:check failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
