import { exportModel, resolveInsideRoot } from '@defectflow/engine';
import type { DeployParams } from './definition.ts';
import type { DeploySummary } from './result.ts';
import { NodeError, type NodeRunFn } from '../../runtime/types.ts';
import {
  type DeploymentValue,
  asNodeError,
  ensureBackend,
  input,
  isMetrics,
  isTrained,
  pct,
} from '../../runtime/run-helpers.ts';

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'model';
}

export const runDeploy: NodeRunFn<DeployParams> = async (inputs, params, ctx) => {
  const trained = input(inputs, 'trained', isTrained);
  const metrics = inputs.metrics ? input(inputs, 'metrics', isMetrics) : null;
  const { name, gateMetric, gateMin } = params;
  if (gateMetric !== 'none') {
    if (!metrics) throw new NodeError('gate_not_met', `quality gate on ${gateMetric} needs the metrics input connected`);
    const value = metrics[gateMetric];
    if (!(value >= gateMin))
      throw new NodeError('gate_not_met', `${gateMetric} ${value.toFixed(4)} is below the gate minimum ${gateMin}; model not deployed`);
  }
  if (params.gateBaseline) {
    const margin = params.baselineMargin;
    if (!metrics) throw new NodeError('gate_not_met', 'the baseline gate (gateBaseline) needs the metrics input connected');
    const b = metrics.baseline;
    if (!b) throw new NodeError('gate_not_met', 'the baseline gate (gateBaseline) needs metrics from an Evaluate node that reports a baseline');
    if (!(metrics.accuracy - b.accuracy >= margin - 1e-12))
      throw new NodeError(
        'gate_not_met',
        `accuracy ${pctText(metrics.accuracy)} does not beat always answering '${b.className}' (${pctText(b.accuracy)}) by the required ${(margin * 100).toFixed(1)} points; model not deployed`,
      );
  }
  const warning = metrics?.baselineVerdict?.warning ?? null;
  if (warning) ctx.log('warn', `deploying anyway: ${warning}`);
  const modelId = `${slug(name)}-${ctx.runId.slice(0, 8)}-${ctx.nodeId}`.slice(0, 100);
  try {
    // Ids are checked by the graph schema; this holds even for a graph that never went through it.
    const dir = resolveInsideRoot(ctx.dirs.modelsDir, modelId);
    await ensureBackend();
    const exported = await exportModel(trained, dir, { name, metrics });
    const onnx = exported.meta.onnx;
    if (onnx && !onnx.available) ctx.log('warn', `no ONNX export (model.onnx) for this model: ${onnx.reason}`);
    const value: DeploymentValue = { modelId, dir, name };
    return {
      outputs: { deployment: value },
      summary: {
        modelId,
        dir,
        name,
        labels: exported.meta.labels,
        inputSize: exported.meta.inputSize,
        bytes: exported.bytes,
        accuracy: pct(metrics?.accuracy),
        baselineAccuracy: pct(metrics?.baseline?.accuracy),
        baselineWarning: warning,
        threshold: metrics?.operatingPoint ? metrics.operatingPoint.threshold : null,
      } satisfies DeploySummary,
    };
  } catch (err) {
    throw asNodeError(err, 'deploy_failed');
  }
};

const pctText = (v: number) => `${(v * 100).toFixed(1)} %`;
