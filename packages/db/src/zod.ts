/**
 * Zod schemas derived from the tables (drizzle-zod), for API inputs and outputs. `graph` columns come out as
 * generic JSON here: validate graphs with PipelineGraphSchema / validateGraph from @defectflow/nodes.
 */
import { createInsertSchema, createSelectSchema } from 'drizzle-zod';
import { datasets, models, productLines, RUN_STATUSES } from './schema.ts';
import { z } from 'zod';

const name = (s: z.ZodString) => s.trim().min(1).max(200);

/** { name, description? } for creating a product line. */
export const productLineInputSchema = createInsertSchema(productLines, { name }).pick({ name: true, description: true });
export const productLineSchema = createSelectSchema(productLines);

/** { name, path } for registering a dataset; path is relative to DATASETS_ROOT. */
export const datasetInputSchema = createInsertSchema(datasets, { name, path: (s) => s.min(1) }).pick({ name: true, path: true });
export const datasetSchema = createSelectSchema(datasets);

export const modelSchema = createSelectSchema(models);

export const runStatusSchema = z.enum(RUN_STATUSES);
