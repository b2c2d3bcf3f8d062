export type { ArtifactStore, StoredObject } from './store.ts';
export { checkKey, checkPrefix, InvalidKeyError } from './keys.ts';
export { FsStore } from './fs-store.ts';
export { S3Store, type S3StoreOptions } from './s3-store.ts';
export { checkedStorageEnv, storeFromEnv, type StorageEnv } from './from-env.ts';
export {
  blobKey,
  type DatasetManifest,
  datasetManifest,
  listPublishedDatasets,
  type MaterializeOptions,
  type MaterializeResult,
  manifestKey,
  materializeDataset,
  type PublishResult,
  publishDataset,
  readDatasetManifest,
} from './datasets.ts';
export {
  type EnsuredModel,
  ensureModelLocal,
  modelPrefix,
  runFileKey,
  type UploadedArtifacts,
  type UploadRunArtifactsInput,
  uploadRunArtifacts,
} from './artifacts.ts';
export { BLOB_CACHE_MIN_IDLE_MS, type PruneBlobCacheOptions, type PruneBlobCacheResult, pruneBlobCache } from './blob-cache.ts';
export { backboneKey, fetchBackbone, listStoredBackbones, publishBackbone } from './backbones.ts';
