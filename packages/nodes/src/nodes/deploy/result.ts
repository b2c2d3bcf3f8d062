import { z } from 'zod';

/**
 * The deploy node's summary (its node.finished event): what the web server registers the model from
 * and the CLI prints. Written by run/deploy.ts (`satisfies DeploySummary`), read with this schema.
 */
export const deploySummary = z.object({
  modelId: z.string().min(1),
  /** The exported folder, inside DATA_DIR/models. */
  dir: z.string().min(1),
  name: z.string(),
  labels: z.array(z.string()),
  inputSize: z.int().positive(),
  bytes: z.number(),
  /** From the connected metrics input (0..1, 4 decimals); null without one. */
  accuracy: z.number().nullable(),
  baselineAccuracy: z.number().nullable(),
  baselineWarning: z.string().nullable(),
  /** The defect-vs-good threshold exported with the model; null = argmax. */
  threshold: z.number().nullable(),
});

export type DeploySummary = z.infer<typeof deploySummary>;
