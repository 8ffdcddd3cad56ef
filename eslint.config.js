// Lint rules that block CI. Type-aware rules are left out on purpose: tsc already runs in `npm test`,
// and the untyped rule set keeps lint fast on two cores.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // Generated output is not linted: the build (dist/), CLI state (.switchyard/: indexes, deploy bundles), results.
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      '**/.switchyard/**',
      '**/fixtures/**',
      'benchmarks/results/**',
      'eval-results/**',
      '**/*.generated.*',
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
      eqeqeq: ['error', 'always'],
    },
  },
);
