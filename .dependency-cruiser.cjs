/**
 * The layers of functions/ and the one direction between them (docs/ARCHITECTURE.md#code-layout):
 *
 *   domain  ←  use cases (intake, staff, workflow)  ←  adapters  ←  composition  ←  entries (functions/*.ts)
 *
 * `npm test` runs these rules (test/infra/dependency-rules.test.ts) and fails listing every
 * violation. Paths are relative to the repository root.
 */
const ENTRY = '^functions/[^/]+[.]ts$';
const USE_CASES = '^functions/(intake|staff|workflow)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-imports-only-domain',
      comment: 'The domain (rules, model, ports, domain errors) is pure: it imports nothing of ours outside functions/domain.',
      severity: 'error',
      from: { path: '^functions/domain/' },
      to: { path: '^(functions/(?!domain/)|infra/|test/|bench/)' },
    },
    {
      name: 'use-cases-import-no-adapter',
      comment: 'Use cases know the domain and each other, never an adapter, the composition, a CLI or an entry.',
      severity: 'error',
      from: { path: USE_CASES },
      to: { path: `^functions/(adapters|composition|cli)/|${ENTRY}|^(infra|test|bench)/` },
    },
    {
      name: 'adapters-import-no-composition',
      comment: 'Adapters translate one outside system; they never reach up into the composition, a CLI or an entry.',
      severity: 'error',
      from: { path: '^functions/adapters/' },
      to: { path: `^functions/(composition|cli)/|${ENTRY}|^(test|bench)/` },
    },
    {
      name: 'only-entries-import-composition',
      comment:
        'The composition wires one function per module; only the Lambda entries import it (and, outside what is deployed, ' +
        'the composition itself, the tests and the bench, which run the whole system in one process).',
      severity: 'error',
      from: { pathNot: `${ENTRY}|^functions/composition/|^test/|^bench/` },
      to: { path: '^functions/composition/' },
    },
    {
      name: 'entries-import-their-composition',
      comment: 'A Lambda entry only adapts: it imports its wiring module and the logger, nothing else of ours.',
      severity: 'error',
      from: { path: ENTRY },
      to: { path: '^functions/', pathNot: '^functions/composition/[^/]+[.]ts$|^functions/adapters/aws/(logger|metrics)[.]ts$|^functions/adapters/env/settings[.]ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/|[.]d[.]ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
