import path from 'node:path';
import { loadBackbone, resolveInsideRoot } from '@defectflow/engine';
import type { BackboneParams } from './definition.ts';
import { NodeError, type NodeRunFn } from '../../runtime/types.ts';
import { asNodeError, ensureBackend } from '../../runtime/run-helpers.ts';

/** A custom model folder must live inside DATASETS_ROOT or DATA_DIR/models. */
function resolveModelPath(userPath: string, roots: string[]): string {
  for (const root of roots) {
    try {
      return resolveInsideRoot(root, userPath);
    } catch {
      // try the next allowed root
    }
  }
  throw new NodeError('path_outside_root', `modelPath "${userPath}" is not inside ${roots.join(' or ')}`);
}

export const runBackbone: NodeRunFn<BackboneParams> = async (_inputs, params, ctx) => {
  await ensureBackend();
  const { source } = params;
  try {
    const modelPath =
      source === 'custom' ? resolveModelPath(params.modelPath, [ctx.dirs.datasetsRoot, path.join(ctx.dirs.dataDir, 'models')]) : undefined;
    const backbone = await loadBackbone({ ...params, modelPath, customLayer: params.customLayer || undefined });
    ctx.log('info', backbone.describe());
    return {
      outputs: { backbone },
      summary: {
        source,
        inputSize: backbone.inputSize,
        fit: backbone.fit.fit,
        cutAt: backbone.cutAt,
        featureShape: backbone.outputShape,
        params: backbone.model.countParams(),
      },
    };
  } catch (err) {
    throw asNodeError(err, 'backbone_invalid');
  }
};
