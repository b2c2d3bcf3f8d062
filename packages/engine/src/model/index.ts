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
  FEATURE_CACHE_DEFAULTS,
  FeatureCache,
  type FeatureCacheLimits,
  type ImageSource,
  type SkippedImage,
  type Pooling,
  extractFeatures,
  featureCacheKey,
  poolFeatureMap,
} from './features.ts';
export { type BuildHeadOptions, type HeadKind, type HeadSpec, buildHead, isSpatialHead, pooledSize } from './head.ts';
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
  type EvaluationReport,
  type Metrics,
  type Prediction,
  type RocSummary,
  detectGoodClass,
  evaluateClassifier,
  rocCurve,
} from './evaluate.ts';
export {
  BASELINE_MARGIN,
  type Baseline,
  type BaselineVerdict,
  type BinaryConfusion,
  type DecisionRule,
  NEVER_FLAG,
  OPERATING_MODES,
  type OperatingMode,
  type OperatingPoint,
  binaryRates,
  confusionAt,
  decideClass,
  defectScore,
  judgeBaseline,
  majorityBaseline,
  thresholdFor,
} from './decision.ts';
export {
  type FeatureOptions,
  type FeatureViewCounts,
  type TrainOnDatasetOptions,
  type TrainParams,
  type TrainedClassifier,
  boundaryFeatures,
  disposeTrained,
  imageSourceFromItems,
  predictDatasetItems,
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
export { type ClassActivationMap, classActivationMap } from './cam.ts';
export { readModelFolder } from './weights.ts';
export { disposeModel, isLayersModel } from './dispose.ts';
export { MAX_UNREADABLE_FRACTION, UnreadableImagesError, checkSkippedImages } from './unreadable.ts';
