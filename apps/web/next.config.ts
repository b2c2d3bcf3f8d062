import type { NextConfig } from 'next';

/**
 * Pages only: the tRPC API, socket.io and the database live in the custom server (server.ts), outside
 * Next's bundles. Client code imports the browser-safe entry of @defectflow/nodes and `import type`s
 * from server/, so TensorFlow.js, sharp and PGlite never reach a bundle; they are listed as external
 * anyway in case a server component ever imports them.
 */
const nextConfig: NextConfig = {
  // Workspace packages export TypeScript source.
  // Pages import only `@defectflow/engine/decision` (import-free, checked by the engine's decision.test.ts):
  // the baseline verdict and threshold rule the report shares with predictImages. The engine's heavy
  // dependencies below stay external.
  transpilePackages: ['@defectflow/nodes', '@defectflow/db', '@defectflow/runner', '@defectflow/engine'],
  serverExternalPackages: [
    'sharp',
    '@tensorflow/tfjs',
    '@tensorflow/tfjs-node',
    '@tensorflow/tfjs-node-gpu',
    '@tensorflow/tfjs-backend-wasm',
    '@electric-sql/pglite',
    'postgres',
  ],
  // Typechecking is `tsc -p apps/web/tsconfig.json` (CI and `npm run typecheck`); a build should not redo it.
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  reactStrictMode: true,
  devIndicators: false,
};

export default nextConfig;
