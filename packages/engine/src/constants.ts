/**
 * The engine's choices and defaults that the node catalogue (`@defectflow/nodes`) and the web app also
 * show or check: cut points, backbone sources, fit and freeze modes, dataset layouts, image extensions,
 * augmentation and dataset defaults. Browser-safe: no imports at all (`@defectflow/engine/constants`).
 * Written once here; the engine, the node definitions' zod enums and defaults, and the web read them.
 */

/** MobileNetV2 layers the feature extractor may end at, shallow to deep. */
export const MOBILENET_CUTS = [
  'block_3_expand_relu',
  'block_6_expand_relu',
  'block_10_expand_relu',
  'block_13_expand_relu',
  'block_16_expand_relu',
  'out_relu',
] as const;
export type MobilenetCut = (typeof MOBILENET_CUTS)[number];

export const BACKBONE_SOURCES = ['mobilenet_v2', 'custom', 'scratch', 'onnx'] as const;

/** Tensor layout of an imported ONNX backbone (torchvision/timm: NCHW; tf2onnx exports: often NHWC). */
export const ONNX_LAYOUTS = ['NCHW', 'NHWC'] as const;
export type OnnxLayout = (typeof ONNX_LAYOUTS)[number];
/**
 * What an imported ONNX backbone expects of its 0..255 RGB input. imagenet: (x/255 − mean)/std with
 * the ImageNet statistics torchvision and timm use; meanstd: the same with a sidecar's own mean/std;
 * unit: x/255; raw: 0..255 as it is.
 */
export const ONNX_NORMALIZATIONS = ['imagenet', 'meanstd', 'unit', 'raw'] as const;
export type OnnxNormalization = (typeof ONNX_NORMALIZATIONS)[number];
/** Imported ONNX backbones live in this folder under DATA_DIR (the backbone node and the library page confine paths to it). */
export const BACKBONES_DIR = 'backbones';
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;
export type BackboneSource = (typeof BACKBONE_SOURCES)[number];

/** How a non-square image becomes the backbone's square input (data/fit.ts). */
export const IMAGE_FITS = ['stretch', 'letterbox', 'tiles'] as const;
export type ImageFit = (typeof IMAGE_FITS)[number];
/** fit 'tiles': most tiles per image, by default. */
export const DEFAULT_MAX_TILES = 4;

/** all: head only; upTo: frozen up to a named layer; staged: head first, then the top blocks. */
export const FREEZE_MODES = ['all', 'upTo', 'staged'] as const;
export type FreezeMode = (typeof FREEZE_MODES)[number];

/** Dataset layouts the loaders read ('auto' detects one of the others). */
export const DATASET_LAYOUTS = ['auto', 'folders', 'mvtec', 'csv'] as const;
export type DatasetLayout = Exclude<(typeof DATASET_LAYOUTS)[number], 'auto'>;

/**
 * File extensions the dataset loaders treat as images (lower case, with dot). The web app lists,
 * serves and accepts for prediction the same files; anything else (a .gif) is ignored with a warning.
 */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp'];

/** True when a file name has one of IMAGE_EXTENSIONS (any case). */
export function hasImageExtension(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot > 0 && IMAGE_EXTENSIONS.includes(name.slice(dot).toLowerCase());
}

/** Augmentation policy; field names and ranges are those of the augment node's params. */
export interface AugmentPolicy {
  hflip: boolean;
  vflip: boolean;
  rot90: boolean;
  /** Random crop keeping a side fraction in [1 - cropScale, 1], resized back (0..0.5). */
  cropScale: number;
  /** Additive brightness shift up to ±brightness × 255 (0..0.5). */
  brightness: number;
  /** Contrast factor in [1 - contrast, 1 + contrast] around each channel's mean (0..0.5). */
  contrast: number;
  /** Gaussian noise std as a fraction of 255 (0..0.2). */
  noise: number;
  /** Gaussian blur sigma drawn uniformly from [0, blur] pixels (0..3). */
  blur: number;
  /** Augmented views per train image (0..10). */
  copies: number;
  seed: number;
}

/** Seed of every seeded choice (split, augmentation, initialisation) unless the user picks one. */
export const DEFAULT_SEED = 42;

export const DEFAULT_AUGMENT_POLICY: Readonly<AugmentPolicy> = {
  hflip: true,
  vflip: true,
  rot90: true,
  cropScale: 0.1,
  brightness: 0.1,
  contrast: 0.1,
  noise: 0.02,
  blur: 0,
  copies: 1,
  seed: DEFAULT_SEED,
};

/** loadDataset's defaults, and the dataset node's. */
export const DATASET_DEFAULTS = {
  layout: 'auto',
  csvFile: 'labels.csv',
  valRatio: 0.15,
  testRatio: 0.15,
  seed: DEFAULT_SEED,
  maxPerClass: 0,
} as const;
