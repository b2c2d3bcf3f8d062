/** The web API (see /api/trpc): one router per domain, merged here. Clients import `type AppRouter` only. */
import { authRouter } from './routers/auth.ts';
import { backbonesRouter } from './routers/backbones.ts';
import { datasetsRouter } from './routers/datasets.ts';
import { modelsRouter } from './routers/models.ts';
import { nodesRouter } from './routers/nodes.ts';
import { pipelinesRouter } from './routers/pipelines.ts';
import { predictionsRouter } from './routers/predictions.ts';
import { monitoringRouter } from './routers/monitoring.ts';
import { productLinesRouter } from './routers/productLines.ts';
import { reviewsRouter } from './routers/reviews.ts';
import { runnerRouter } from './routers/runner.ts';
import { runsRouter } from './routers/runs.ts';
import { sweepsRouter } from './routers/sweeps.ts';
import { templatesRouter } from './routers/templates.ts';
import { tokensRouter } from './routers/tokens.ts';
import { usersRouter } from './routers/users.ts';
import { createTRPCRouter } from './trpc.ts';

export const appRouter = createTRPCRouter({
  nodes: nodesRouter,
  runner: runnerRouter,
  productLines: productLinesRouter,
  templates: templatesRouter,
  pipelines: pipelinesRouter,
  runs: runsRouter,
  sweeps: sweepsRouter,
  datasets: datasetsRouter,
  backbones: backbonesRouter,
  models: modelsRouter,
  predictions: predictionsRouter,
  monitoring: monitoringRouter,
  reviews: reviewsRouter,
  auth: authRouter,
  users: usersRouter,
  tokens: tokensRouter,
});

export type AppRouter = typeof appRouter;
