// Lint: neostandard (the Node.js community's maintained successor of
// `standard`, flat config, TypeScript-aware) for correctness rules, with its
// style rules off because Prettier owns layout (.prettierrc.json, 120 columns).
// Chosen over typescript-eslint's strict-type-checked: that preset needs type
// information for every file (a full tsc program per lint run, ~4x slower
// here) and `npm run typecheck` already runs tsc in strict mode.
import neostandard from 'neostandard';

export default [
  ...neostandard({
    ts: true,
    noStyle: true,
    ignores: ['src/generated/**', 'node_modules/**', 'dist/**', 'coverage/**', 'test-results/**', '.data/**'],
  }),
  {
    files: ['**/*.ts'],
    rules: {
      // `as never` hides a type error instead of stating a truth; the few
      // remaining casts say why on the line above.
      'no-restricted-syntax': [
        'error',
        {
          selector: 'TSAsExpression > TSNeverKeyword',
          message: 'Do not cast to never: use z.infer or the generated Prisma types.',
        },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // A zod schema and its inferred type share one name on purpose (const X = z.object(…); type X = z.infer<typeof X>).
      '@typescript-eslint/no-redeclare': 'off',
      // `void promise` marks a deliberately unawaited promise (timers, signal handlers, callbacks).
      'no-void': 'off',
      // Loop flags set by another async task (a close() while a loop awaits) read as "never modified".
      'no-unmodified-loop-condition': 'off',
      // `new Promise((r) => setTimeout(r, ms))` reads fine; the rule only wants the name `resolve`.
      'promise/param-names': 'off',
    },
  },
];
