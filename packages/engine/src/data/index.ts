/** Data half of @defectflow/engine: image I/O, path safety, dataset loading, sample data, augmentation. */
export { DatasetError, type DatasetErrorCode, ImageReadError, PathOutsideRootError } from './errors.ts';
export { createRng, hashSeed, type Rng } from './rng.ts';
export { resolveInsideRoot } from './paths.ts';
export {
  type BatchImage,
  type BatchOptions,
  type BatchResult,
  type FloatImage,
  IMAGE_EXTENSIONS,
  IMAGE_MAX_PIXELS,
  type ImageHeader,
  type ReadImageOptions,
  type ThumbnailOptions,
  checkImageDecodes,
  readImageAsFloat,
  readImageHeader,
  readImagesBatch,
  thumbnail,
} from './image-io.ts';
export { DATASET_DEFAULTS, loadDataset } from './dataset/load.ts';
export { isImageFile, scanFolders } from './dataset/scan.ts';
export type { ImageCheck } from './dataset/inspect.ts';
export { splitSizes } from './dataset/split.ts';
export { parseCsv } from './dataset/csv.ts';
export type {
  DatasetItem,
  DatasetLayout,
  DatasetManifest,
  DatasetWarning,
  LoadDatasetOptions,
  Split,
  SplitCounts,
} from './dataset/types.ts';
export { SPLITS } from './dataset/types.ts';
export {
  type MvtecSampleOptions,
  SAMPLE_DATASET_KINDS,
  type SampleDatasetKind,
  type SampleDatasetOptions,
  type SampleDatasetResult,
  STEEL_DEFECT_CLASSES,
  type SteelDefectClass,
  generateMvtecSample,
  generateSampleDataset,
  renderSteelImage,
  renderSteelSample,
} from './sample/generate.ts';
export {
  TILE_CLASSES,
  TILE_CLASS_COUNTS,
  type TileClass,
  type TileSample,
  drawTileSize,
  renderTileSample,
  tileClassCounts,
} from './sample/tiles.ts';
export { augmentImage, augmentRgbView, drawAugmentation } from './augment/augment.ts';
export { type AugmentPolicy, DEFAULT_AUGMENT_POLICY, augmentationSignature, normalizeAugmentPolicy } from './augment/policy.ts';
export * as imageOps from './augment/ops.ts';
export { type ImageSourceOnDemand, type ImageSourceOptions, createImageSource } from './image-source.ts';
export {
  DEFAULT_MAX_TILES,
  type FitSpec,
  IMAGE_FITS,
  type ImageFit,
  type TileLayout,
  fitSignature,
  maxOverTiles,
  normalizeFit,
  tileLayout,
} from './fit.ts';
export {
  type ResolvedDatasetVersion,
  type VersionEntry,
  VERSIONS_DIR,
  formatVersionCsv,
  listDatasetVersions,
  resolveDatasetVersion,
  versionCsvName,
  writeDatasetVersion,
} from './dataset/versions.ts';
