import { defineConfig } from 'drizzle-kit';

/** `npm run generate -w @defectflow/db` writes SQL migrations to drizzle/ from src/schema.ts (no database needed). */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema.ts',
  out: './drizzle',
  strict: true,
});
