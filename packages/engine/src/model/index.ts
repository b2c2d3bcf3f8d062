/** Model half of @defectflow/engine: backbones, feature cache, head, training, evaluation, export. */
export {
  type Backbone,
  type BackboneSource,
  type FreezeMode,
  type FreezeOptions,
  type FrozenBackbone,
  type LoadBackboneOptions,
  MOBILENET_CUTS,
  MOBILENET_V2_CREDIT,
  type Preprocessing,
  type StagedSchedule,
  freezeBackbone,
  isFrozenBackbone,
  loadBackbone,
} from './backbone.ts';
export {
  AbortError,
  type CachedFeatures,
  type ExtractOptions,
  type FeatureArray,
  type FeatureEngineInfo,
  FeatureCache,
  type ImageSource,
  type Pooling,
  extractFeatures,
  featureCacheKey,
  poolFeatureMap,
} from './features.ts';
export { type BuildHeadOptions, type HeadSpec, buildHead, pooledSize } from './head.ts';
export {
  type EpochLog,
  type LabeledArray,
  type OptimizerName,
  type Schedule,
  type TrainOptions,
  type TrainResult,
  computeClassWeights,
  learningRateAt,
  seededRandom,
  trainClassifier,
} from './train.ts';
export {
  type ClassScores,
  type EvalItem,
  type EvaluateOptions,
  type Metrics,
  type Prediction,
  type RocSummary,
  detectGoodClass,
  evaluateClassifier,
  rocCurve,
} from './evaluate.ts';
export {
  type FeatureOptions,
  type TrainOnDatasetOptions,
  type TrainParams,
  type TrainedClassifier,
  boundaryFeatures,
  disposeTrained,
  imageSourceFromItems,
  predictItems,
  probsFromFeatures,
  trainOnDataset,
} from './classifier.ts';
export {
  EXPORT_FORMAT,
  type ExportMeta,
  type ExportResult,
  type ImagePrediction,
  type LoadedModel,
  composeClassifier,
  exportModel,
  loadExportedModel,
  predictImages,
} from './export.ts';
export { readModelFolder } from './weights.ts';
