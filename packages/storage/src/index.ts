export type { ArtifactStore, StoredObject } from './store.ts';
export { checkKey, checkPrefix, InvalidKeyError } from './keys.ts';
export { FsStore } from './fs-store.ts';
export { S3Store, type S3StoreOptions } from './s3-store.ts';
export { storeFromEnv, type StorageEnv } from './from-env.ts';
