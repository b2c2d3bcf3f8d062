/**
 * Cluster mode with a store: every web server keeps a mirror of the published datasets in its DATASETS_ROOT (and of
 * the ONNX backbone library in DATA_DIR/backbones), so
 * whichever server a request lands on can pin a version, show thumbnails and serve images. At start it brings
 * every published dataset up to date; afterwards a server that published a change says so on `df:datasets` and
 * the others materialize that dataset (each blob fetched once per machine, the rest hard links). Two servers
 * editing the same dataset at the same moment is not reconciled: the last publish wins.
 */
import { join } from 'node:path';
import { type ArtifactStore, fetchBackbone, listPublishedDatasets, listStoredBackbones, materializeDataset, publishBackbone } from '@defectflow/storage';
import type { Redis } from 'ioredis';
import { errorMessage, type Logger } from '../log.ts';

export const DATASETS_CHANNEL = 'df:datasets';

export interface DatasetMirror {
  /** After this server published `name`: tell the others. */
  announce(name: string): Promise<void>;
  /** Publishes a backbone of this server's library (upload, settings saved) and tells the others. */
  publishBackbone(name: string): Promise<void>;
  close(): Promise<void>;
}

export async function startDatasetMirror(opts: {
  redis: Redis;
  store: ArtifactStore;
  datasetsRoot: string;
  /** DATA_DIR/backbones. */
  backbonesDir: string;
  casDir: string;
  /** BLOB_CACHE_MAX_BYTES: cached blobs no mirrored dataset links any more. */
  cacheMaxBytes?: number;
  webId: string;
  log: Logger;
}): Promise<DatasetMirror> {
  const chains = new Map<string, Promise<void>>();
  const sync = (name: string): Promise<void> => {
    const next = (chains.get(name) ?? Promise.resolve()).then(async () => {
      try {
        const r = await materializeDataset(opts.store, opts.datasetsRoot, name, opts.casDir, { cacheMaxBytes: opts.cacheMaxBytes });
        if (r.placed || r.removed) opts.log.info(`dataset ${name} mirrored from the store: ${r.placed} file(s) placed, ${r.removed} removed, ${r.fetchedBlobs} fetched`);
      } catch (err) {
        opts.log.warn(`dataset ${name}: mirroring from the store failed: ${errorMessage(err)}`);
      }
    });
    chains.set(name, next);
    return next;
  };
  const subscriber = opts.redis.duplicate();
  await subscriber.subscribe(DATASETS_CHANNEL);
  const syncBackbone = (name: string) =>
    fetchBackbone(opts.store, opts.backbonesDir, name).catch((err: unknown) =>
      opts.log.warn(`backbone ${name}: mirroring from the store failed: ${errorMessage(err)}`),
    );
  subscriber.on('message', (_channel: string, message: string) => {
    const [from, name] = message.split('\n');
    if (from === opts.webId || !name) return;
    if (name.startsWith('backbone:')) void syncBackbone(name.slice('backbone:'.length));
    else void sync(name);
  });
  await Promise.all((await listPublishedDatasets(opts.store)).map(sync));
  for (const name of await listStoredBackbones(opts.store)) await syncBackbone(name);
  return {
    announce: async (name) => {
      await opts.redis.publish(DATASETS_CHANNEL, `${opts.webId}\n${name}`);
    },
    publishBackbone: async (name) => {
      await publishBackbone(opts.store, opts.backbonesDir, name);
      await opts.redis.publish(DATASETS_CHANNEL, `${opts.webId}\nbackbone:${name}`);
    },
    close: async () => {
      subscriber.disconnect();
    },
  };
}

export const mirrorCasDir = (dataDir: string) => join(dataDir, 'cache', 'blobs');
