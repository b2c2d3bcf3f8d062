import { describe, it } from 'vitest';
import { HOW_TO_START_POSTGRES, pgliteBackend, postgresBackend } from './backends.ts';
import { dbSuite } from './suite.ts';

describe('@defectflow/db on PGlite', () => {
  dbSuite(pgliteBackend());
});

const url = process.env.TEST_DATABASE_URL;
if (url) {
  describe('@defectflow/db on PostgreSQL', () => {
    dbSuite(postgresBackend(url));
  });
} else if (process.env.CI === 'true') {
  describe('@defectflow/db on PostgreSQL', () => {
    it('needs a PostgreSQL server (TEST_DATABASE_URL)', () => {
      throw new Error(HOW_TO_START_POSTGRES);
    });
  });
}
