import type { DatasetLayout } from '../../constants.ts';
import type { AugmentPolicy } from '../augment/policy.ts';
import type { ImageCheck } from './inspect.ts';

export type { DatasetLayout };
export type Split = 'train' | 'val' | 'test';
export const SPLITS: readonly Split[] = ['train', 'val', 'test'];

export interface LoadDatasetOptions {
  /** Directory every dataset path must stay inside (DATASETS_ROOT). */
  root: string;
  /** Dataset folder relative to root (or absolute inside it). For csv it may also name the CSV file. */
  path: string;
  layout?: 'auto' | DatasetLayout;
  /** CSV manifest file name, relative to the dataset folder (csv layout). Default "labels.csv". */
  csvFile?: string;
  /** Fraction of each class for validation, 0..0.5. Default 0.15. */
  valRatio?: number;
  /** Fraction of each class for test, 0..0.5. Default 0.15. */
  testRatio?: number;
  seed?: number;
  /** Keep at most this many images per class (seeded choice); 0 = all. */
  maxPerClass?: number;
  /** Hash file contents to find exact duplicates (only files sharing a byte size are read). Default true. */
  checkDuplicates?: boolean;
  /**
   * Check every image and drop (with a warning naming them) those that do not decode: true or
   * 'decode' (default) decodes every pixel, which finds truncated files; 'header' reads headers
   * only (cheaper, misses a lost tail); false or 'none' skips the check.
   */
  checkImages?: boolean | ImageCheck;
  /** Images over this many pixels are unreadable (default IMAGE_MAX_PIXELS, 100 megapixels). */
  maxPixels?: number;
  signal?: AbortSignal;
  onProgress?: (phase: 'scan' | 'check', done: number, total: number) => void;
}

export interface DatasetItem {
  /** Path relative to the dataset folder, forward slashes. Stable across machines. */
  id: string;
  /** Absolute path. */
  path: string;
  /** Index into DatasetManifest.classes. */
  label: number;
  split: Split;
}

export interface DatasetWarning {
  code:
    | 'imbalance'
    | 'small_class'
    | 'duplicate_files'
    | 'duplicates_across_classes'
    | 'duplicates_across_splits'
    | 'unreadable_files'
    | 'missing_files'
    | 'path_outside_root'
    | 'mixed_sizes'
    | 'mixed_channels'
    | 'empty_class'
    | 'ignored_files'
    | 'no_split_possible';
  message: string;
  /** Dataset item ids (or paths) concerned, capped to keep manifests small. */
  files?: string[];
}

export type SplitCounts = Record<Split, number> & { total: number };

export interface DatasetManifest {
  /** Absolute dataset folder. */
  root: string;
  layout: DatasetLayout;
  /** Sorted class names; item labels index this. */
  classes: string[];
  /** Sorted by id. */
  items: DatasetItem[];
  /** Per class name. */
  counts: Record<string, SplitCounts>;
  warnings: DatasetWarning[];
  /** Image sizes seen by the header check ("WxH" → count) and channel counts (→ count). */
  imageStats: { sizes: Record<string, number>; channels: Record<string, number> };
  split: { valRatio: number; testRatio: number; seed: number; maxPerClass: number };
  /** sha1 over layout, classes and every item's id, byte size, mtime, label and split: a cache key. */
  signature: string;
  /** Set by the augment node; the dataset loader leaves it undefined. */
  augmentation?: AugmentPolicy;
}

/** One image found by a layout scanner, before checks and the split. */
export interface ScannedFile {
  id: string;
  path: string;
  className: string;
  /** A split fixed by the layout (MVTec test/ of a class that also has train/ images, CSV split column). */
  fixedSplit?: Split;
  /** MVTec train/ images: split into train/val only, never test (MVTec's own test/ is the test set). */
  noTest?: boolean;
}

export interface ScanResult {
  files: ScannedFile[];
  /** Classes that exist even if they end up empty (folder layout). */
  declaredClasses: string[];
  warnings: DatasetWarning[];
}

export const MAX_WARNING_FILES = 50;
