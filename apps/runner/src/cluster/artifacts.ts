/**
 * Cluster mode with a shared store (STORAGE_URL): what a runner on another machine than the web servers needs.
 * Before an evaluate/deploy event leaves, its files go to the store (the web server reads them while storing
 * the event); before a run starts, its datasets are made equal to their published manifest (each blob fetched
 * once per machine; blobs no dataset links any more bounded by BLOB_CACHE_MAX_BYTES) and its ONNX backbone
 * fetched; before a prediction, the model folder is fetched once.
 */
import { join } from 'node:path';
import type { PipelineGraph, RunEvent } from '@defectflow/nodes';
import { type ArtifactStore, fetchBackbone } from '@defectflow/storage';
import { ensureModelLocal, materializeDataset, uploadRunArtifacts } from '../storage.ts';

export interface ClusterArtifacts {
  beforeAppend(event: RunEvent): Promise<void>;
  prepareRun(graph: PipelineGraph): Promise<void>;
  ensureModel(modelId: string): Promise<void>;
  /** An ONNX backbone of the library (DATA_DIR/backbones), as published by the web server that received it. */
  ensureBackbone(name: string): Promise<void>;
}

export function clusterArtifacts(store: ArtifactStore, dirs: { dataDir: string; datasetsRoot: string; casDir: string; cacheMaxBytes?: number }): ClusterArtifacts {
  const backbonesDir = join(dirs.dataDir, 'backbones');
  return {
    async beforeAppend(event) {
      // node.cached: the run that computed the node uploaded its files.
      if (event.type !== 'node.finished' || (event.nodeType !== 'evaluate' && event.nodeType !== 'deploy')) return;
      await uploadRunArtifacts(store, {
        dataDir: dirs.dataDir,
        runId: event.runId,
        nodeType: event.nodeType,
        nodeId: event.nodeId,
        summary: event.summary,
      });
    },
    async prepareRun(graph) {
      const names = new Set<string>();
      for (const node of graph.nodes) {
        const path = (node.params as { path?: unknown } | undefined)?.path;
        if (node.type === 'dataset' && typeof path === 'string' && path) names.add(path);
      }
      for (const name of names) await materializeDataset(store, dirs.datasetsRoot, name, dirs.casDir, { cacheMaxBytes: dirs.cacheMaxBytes });
      for (const node of graph.nodes) {
        const params = node.params as { source?: unknown; onnxFile?: unknown } | undefined;
        if (node.type === 'backbone' && params?.source === 'onnx' && typeof params.onnxFile === 'string' && params.onnxFile) {
          await fetchBackbone(store, backbonesDir, params.onnxFile); // not published: the node names the missing file
        }
      }
    },
    async ensureModel(modelId) {
      await ensureModelLocal(store, modelId, join(dirs.dataDir, 'models'));
    },
    async ensureBackbone(name) {
      await fetchBackbone(store, backbonesDir, name);
    },
  };
}
