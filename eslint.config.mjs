// ESLint (typescript-eslint, type-aware): run by `npm test` (`npm run lint`).
// The rules are the ones that catch real faults in this codebase's shape
// (promises left floating in handlers and the SDK, type-only imports kept
// type-only so the console bundle never pulls server code, exhaustive
// switches over the domain's unions), not a style guide: formatting is left
// to the editor.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'cdk.out/**', '.waypost/**', 'web/public/**', 'bench/results/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      // A `let` that signal handlers declared earlier read is assigned once, later.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // `ws` hands text frames over as a Buffer (binaryType "nodebuffer"), whose toString is the text.
      '@typescript-eslint/no-base-to-string': ['error', { ignoredTypeNames: ['Error', 'RegExp', 'URL', 'URLSearchParams', 'Buffer', 'ArrayBuffer'] }],
      // `_name` marks a part taken out on purpose (`const { reqId: _reqId, ...rest } = frame`).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      // An async function that does not await still turns a throw into a rejection, which the
      // protocol handlers and stores rely on (a synchronous throw would escape their callers' catch).
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Neutralising control characters is the point of these expressions (CSV injection, SMS text).
    files: ['shared/domain/csv.ts', 'shared/domain/sla.ts', 'test/unit/csv.test.ts'],
    rules: { 'no-control-regex': 'off' },
  },
  {
    // vitest's asymmetric matchers (`expect.stringMatching` and the like) are loosely typed,
    // and tests read DynamoDB items and CDK templates as loosely typed JSON on purpose.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // `expectTypeOf(client.checkpoint)` takes a method only to read its type.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['scripts/**/*.mjs'],
    languageOptions: { globals: { console: 'readonly', process: 'readonly' } },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
