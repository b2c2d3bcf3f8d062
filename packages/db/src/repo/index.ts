import type { Db } from '../client.ts';
import { datasetsRepo } from './datasets.ts';
import { modelsRepo } from './models.ts';
import { pipelinesRepo } from './pipelines.ts';
import { productLinesRepo } from './productLines.ts';
import { runEventsRepo } from './runEvents.ts';
import { runsRepo } from './runs.ts';
import { templatesRepo } from './templates.ts';

export { datasetsRepo, modelsRepo, pipelinesRepo, productLinesRepo, runEventsRepo, runsRepo, templatesRepo };

/** Every repository bound to one database. */
export function createRepositories(db: Db) {
  return {
    productLines: productLinesRepo(db),
    templates: templatesRepo(db),
    pipelines: pipelinesRepo(db),
    runs: runsRepo(db),
    runEvents: runEventsRepo(db),
    models: modelsRepo(db),
    datasets: datasetsRepo(db),
  };
}

export type Repositories = ReturnType<typeof createRepositories>;
