import path from 'node:path';
import { promises as fs } from 'node:fs';
import { loadBackbone, resolveInsideRoot } from '@defectflow/engine';
import { BACKBONES_DIR } from '@defectflow/engine/constants';
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

/** The .onnx file of an ONNX backbone: inside DATA_DIR/backbones, existing, an .onnx file. */
async function resolveOnnxFile(userPath: string, dataDir: string): Promise<string> {
  const root = path.join(dataDir, BACKBONES_DIR);
  let file: string;
  try {
    file = resolveInsideRoot(root, userPath);
  } catch {
    throw new NodeError('path_outside_root', `onnxFile "${userPath}" is not inside the backbone library ${root}`);
  }
  if (!file.toLowerCase().endsWith('.onnx')) throw new NodeError('backbone_invalid', `onnxFile "${userPath}" is not an .onnx file`);
  const st = await fs.stat(file).catch(() => null);
  if (!st?.isFile()) throw new NodeError('backbone_not_found', `onnxFile "${userPath}": no such file in the backbone library ${root}`);
  return file;
}

export const runBackbone: NodeRunFn<BackboneParams> = async (_inputs, params, ctx) => {
  await ensureBackend();
  const { source } = params;
  try {
    const modelPath =
      source === 'custom' ? resolveModelPath(params.modelPath, [ctx.dirs.datasetsRoot, path.join(ctx.dirs.dataDir, 'models')]) : undefined;
    const onnxFile = source === 'onnx' ? await resolveOnnxFile(params.onnxFile, ctx.dirs.dataDir) : undefined;
    const onnx =
      source === 'onnx'
        ? {
            ...(params.onnxCut ? { cut: params.onnxCut } : {}),
            ...(params.onnxLayout !== 'auto' ? { layout: params.onnxLayout } : {}),
            ...(params.onnxNormalization !== 'auto' ? { normalization: params.onnxNormalization } : {}),
          }
        : undefined;
    const backbone = await loadBackbone({ ...params, modelPath, customLayer: params.customLayer || undefined, onnxFile, onnx });
    ctx.log('info', backbone.describe());
    return {
      outputs: { backbone },
      summary: {
        source,
        inputSize: backbone.inputSize,
        fit: backbone.fit.fit,
        cutAt: backbone.cutAt,
        featureShape: backbone.outputShape,
        params: backbone.model ? backbone.model.countParams() : (backbone.onnx?.params ?? 0),
        ...(backbone.onnx ? { onnxFile: params.onnxFile, layout: backbone.onnx.settings.layout, normalization: backbone.onnx.settings.normalization } : {}),
      },
    };
  } catch (err) {
    throw asNodeError(err, 'backbone_invalid');
  }
};
