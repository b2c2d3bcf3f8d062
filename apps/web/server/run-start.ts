/**
 * Starting a run, shared by runs.start and the sweep controller: where the run comes from (pipeline, template,
 * product line), recording its row and handing it to the runner. A runner that refuses or cannot be reached leaves
 * a failed row with the reason.
 */
import { randomUUID } from 'node:crypto';
import type { Repositories, SweepTrialInfo } from '@defectflow/db';
import type { GraphError, PipelineGraph } from '@defectflow/nodes';
import { TRPCError } from '@trpc/server';
import { errorMessage } from './log.ts';
import type { RunOptions } from './runner-link.ts';
import { found, type RunnerControl } from './trpc.ts';

export interface RunSourceInput {
  pipelineId?: string;
  productLineId?: string;
  /** The template (version) the editor's document comes from, when it is the template itself or is linked to one. */
  templateId?: string;
  templateVersionId?: string;
}

/** Where a run (or a sweep) comes from, each link resolved; `sourceName` is the pipeline's or template's name. */
export interface RunSource {
  pipelineId: string | null;
  productLineId: string | null;
  templateId: string | null;
  templateVersionId: string | null;
  sourceName: string | null;
}

/**
 * Fills the product line and template from the pipeline (and the product line from the template) unless given;
 * NOT_FOUND names a pipeline, template or product line that does not exist.
 */
export async function resolveRunSource(repo: Repositories, input: RunSourceInput): Promise<RunSource> {
  let productLineId = input.productLineId ?? null;
  let templateId = input.templateId ?? null;
  let templateVersionId = input.templateVersionId ?? null;
  let sourceName: string | null = null;
  if (input.pipelineId) {
    const pipeline = found(await repo.pipelines.get(input.pipelineId), 'pipeline', input.pipelineId);
    productLineId ??= pipeline.productLineId;
    templateId ??= pipeline.templateId;
    templateVersionId ??= pipeline.templateVersionId;
    sourceName = pipeline.name;
  }
  if (templateId) {
    const template = found(await repo.templates.get(templateId), 'template', templateId);
    productLineId ??= template.productLineId;
    sourceName ??= template.name;
  }
  if (productLineId) found(await repo.productLines.get(productLineId), 'product line', productLineId);
  return { pipelineId: input.pipelineId ?? null, productLineId, templateId, templateVersionId, sourceName };
}

export interface SubmitRunInput {
  /** The graph exactly as it will run (validated, dataset versions pinned). */
  graph: PipelineGraph;
  source: RunSource;
  runId?: string;
  sweepId?: string;
  sweepTrial?: SweepTrialInfo;
  /** Queue placement (cluster mode: priority, a GPU runner, one retry when its runner dies). */
  queue?: RunOptions;
}

export type SubmitRunResult = { ok: true; runId: string; position: number } | { ok: false; runId: string; errors: GraphError[] };

/** The tRPC code of an error the runner answered with (a TRPCClientError carries it in `data`). */
function runnerErrorCode(err: unknown): string | undefined {
  return (err as { data?: { code?: unknown } } | null)?.data?.code as string | undefined;
}

/**
 * Records the run's row and queues it on the runner. A refusal comes back as `ok: false` with the runner's errors;
 * a full runner queue (TOO_MANY_REQUESTS) or an unreachable runner throws a TRPCError; both leave the row failed
 * with the reason. A failing insert throws as it is (nothing recorded).
 */
export async function submitRun(deps: { repo: Repositories; runner: RunnerControl }, input: SubmitRunInput): Promise<SubmitRunResult> {
  const { repo, runner } = deps;
  const runId = input.runId ?? randomUUID();
  const record = async () => {
    await repo.runs.create({
      id: runId,
      pipelineId: input.source.pipelineId,
      productLineId: input.source.productLineId,
      templateId: input.source.templateId,
      templateVersionId: input.source.templateVersionId,
      graph: input.graph,
      sweepId: input.sweepId ?? null,
      sweepTrial: input.sweepTrial ?? null,
    });
  };
  let result: Awaited<ReturnType<RunnerControl['startRun']>>;
  try {
    result = await runner.startRun(runId, input.graph, record, input.queue);
  } catch (err) {
    if (!(await repo.runs.get(runId))) throw err; // the insert itself failed
    if (runnerErrorCode(err) === 'TOO_MANY_REQUESTS') {
      // The runner's queue is full (RUNNER_MAX_QUEUED): its message names the limit; the user may retry later.
      const reason = `The runner refused the run: ${errorMessage(err)}`;
      await repo.runs.update(runId, { status: 'failed', error: reason, finishedAt: new Date() });
      throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `Run ${runId} could not start. ${reason}` });
    }
    const reason = `The runner is unreachable: ${errorMessage(err)}`;
    await repo.runs.update(runId, { status: 'failed', error: reason, finishedAt: new Date() });
    throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: `Run ${runId} could not start. ${reason}` });
  }
  if (!result.accepted) {
    const reason = result.errors.map((e) => e.message).join('; ') || 'no reason given';
    await repo.runs.update(runId, { status: 'failed', error: `The runner refused the run: ${reason}`, finishedAt: new Date() });
    return { ok: false, runId, errors: result.errors };
  }
  return { ok: true, runId, position: result.position };
}
