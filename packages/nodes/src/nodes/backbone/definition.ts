import { BACKBONE_SOURCES, DEFAULT_MAX_TILES, IMAGE_FITS, MOBILENET_CUTS, ONNX_LAYOUTS, ONNX_NORMALIZATIONS } from '@defectflow/engine/constants';
import { z } from 'zod';
import { defineNode, seedParam } from '../shared.ts';

export const backboneParams = z
  .strictObject({
    source: z
      .enum(BACKBONE_SOURCES)
      .default('mobilenet_v2')
      .describe(
        'mobilenet_v2: the MobileNetV2 bundled offline from the nsfwjs npm package (ImageNet-initialised, then ' +
          'fine-tuned by nsfwjs for content classification; not a pure ImageNet checkpoint). custom: your own TF.js layers model. ' +
          'scratch: the same architecture with random weights, to compare against transfer learning. ' +
          'onnx: a network you exported to ONNX (ResNet, EfficientNet, ViT … from torchvision or timm), imported into the backbone library; frozen, run in ONNX Runtime.',
      )
      .meta({ title: 'Source' }),
    inputSize: z
      .int()
      .min(32)
      .max(320)
      .default(160)
      .describe('Images are resized to this many pixels square before entering the network.')
      .meta({ title: 'Input size (px)' }),
    fit: z
      .enum(IMAGE_FITS)
      .default('stretch')
      .describe(
        'How a non-square image becomes square. stretch: squeezed to fit; cheapest, and fine when all images ' +
          'have about the same shape (the squeeze is then the same for every image). letterbox: scaled to fit ' +
          'inside the square with its aspect kept and the rest filled with the image\'s mean grey; helps when ' +
          'images of very different shapes are mixed, so a defect keeps its shape. tiles: the short side is ' +
          'scaled to the input size and the long side cut into up to "Max tiles" overlapping squares, each run ' +
          'through the backbone, their feature maps combined by maximum; for long thin parts with small defects ' +
          '(full resolution along the part), at up to that many times the extraction time. Applied the same way ' +
          'in training, evaluation and the exported model.',
      )
      .meta({ title: 'Fit' }),
    maxTiles: z
      .int()
      .min(2)
      .max(8)
      .default(DEFAULT_MAX_TILES)
      .describe('Most tiles per image. A part longer than this many squares is squeezed to fit; nothing is cropped.')
      .meta({ title: 'Max tiles', showWhen: { fit: ['tiles'] } }),
    cutAt: z
      .enum(MOBILENET_CUTS)
      .default('block_13_expand_relu')
      .describe(
        'Layer the feature extractor ends at. Earlier layers keep generic texture features (often better for ' +
          'surface defects); later ones are more ImageNet-specific.',
      )
      .meta({ title: 'Cut at layer', showWhen: { source: ['mobilenet_v2', 'scratch'] } }),
    modelPath: z
      .string()
      .default('')
      .describe('Folder holding a TF.js layers model.json, inside the datasets folder or DATA_DIR/models. Custom source only.')
      .meta({ title: 'Model folder', showWhen: { source: ['custom'] } }),
    customLayer: z
      .string()
      .default('')
      .describe('Optional name of the layer to cut the custom model at (empty = its last layer before the classifier).')
      .meta({ title: 'Cut at layer (custom)', showWhen: { source: ['custom'] } }),
    onnxFile: z
      .string()
      .default('')
      .describe('The .onnx file, relative to the backbone library (DATA_DIR/backbones). ONNX source only.')
      .meta({ title: 'ONNX file', showWhen: { source: ['onnx'] } }),
    onnxCut: z
      .string()
      .default('')
      .describe(
        'Tensor of the ONNX graph the feature extractor ends at (a 4-D feature map, e.g. layer3 of a ResNet). ' +
          'Empty: the one saved with the backbone in the library, else the last feature map of the graph.',
      )
      .meta({ title: 'Cut at tensor', showWhen: { source: ['onnx'] } }),
    onnxLayout: z
      .enum(['auto', ...ONNX_LAYOUTS])
      .default('auto')
      .describe('Tensor layout the graph takes. auto: as saved in the library, else read from the graph input (3 channels first = NCHW).')
      .meta({ title: 'Layout', showWhen: { source: ['onnx'] } }),
    onnxNormalization: z
      .enum(['auto', ...ONNX_NORMALIZATIONS])
      .default('auto')
      .describe(
        'What the graph expects of 0..255 RGB. imagenet: (x/255 − mean)/std with the ImageNet statistics (torchvision, timm); ' +
          'meanstd: the mean/std saved in the library; unit: x/255; raw: 0..255. auto: as saved in the library, else imagenet.',
      )
      .meta({ title: 'Normalisation', showWhen: { source: ['onnx'] } }),
    seed: seedParam('the random initialisation (scratch only)'),
  })
  .refine((p) => p.source !== 'custom' || p.modelPath.trim().length > 0, {
    message: 'is required when source is "custom" (folder with a TF.js layers model.json)',
    path: ['modelPath'],
  })
  .refine((p) => p.source !== 'onnx' || p.onnxFile.trim().length > 0, {
    message: 'is required when source is "onnx" (an .onnx file in the backbone library)',
    path: ['onnxFile'],
  });

export type BackboneParams = z.infer<typeof backboneParams>;

export const backboneNode = defineNode({
  type: 'backbone',
  title: 'Backbone',
  category: 'Model',
  description:
    'The pretrained feature extractor: bundled MobileNetV2 cut at a chosen layer, your own TF.js model, ' +
    'or a randomly initialised network for comparison.',
  inputs: [],
  outputs: [{ name: 'backbone', type: 'Backbone', label: 'Backbone' }],
  params: backboneParams,
});
