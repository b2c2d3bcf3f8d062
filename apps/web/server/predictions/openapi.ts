/**
 * The prediction API's OpenAPI 3.1 description, served at GET /api/v1/openapi.json (no sign-in needed: it holds no
 * data). Hand-written: two endpoints do not justify a generator. Keep it true when api-routes.ts changes
 * (test/prediction-api.test.ts checks that it parses and names both paths).
 */

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

const requestBody = {
  required: true,
  description:
    'The images: multipart/form-data with one or more files (field `image`), or the bytes of one image with its image/* Content-Type. ' +
    'At most PREDICT_MAX_IMAGES images of PREDICT_MAX_IMAGE_BYTES each; decoded images over IMAGE_MAX_PIXELS are refused per image.',
  content: {
    'multipart/form-data': {
      schema: {
        type: 'object',
        properties: { image: { type: 'array', items: { type: 'string', contentMediaType: 'application/octet-stream' } } },
        required: ['image'],
      },
      encoding: { image: { contentType: 'image/*' } },
    },
    'image/*': { schema: { type: 'string', contentMediaType: 'image/*' } },
    'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } },
  },
};

const responses = {
  '200': {
    description: 'One answer per image, in the order sent (an image that could not be predicted has `error` instead)',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/PredictResponse' } } },
  },
  '400': errorResponse('No image, too many images (PREDICT_MAX_IMAGES), a bad version, or an unreadable form'),
  '401': errorResponse('No valid API token (Authorization: Bearer dft_…)'),
  '403': errorResponse("The token's user is not an engineer"),
  '404': errorResponse('No such model, product line or version'),
  '409': errorResponse('The product line has no production model (promote one, or name ?version=N)'),
  '413': errorResponse('The body is over PREDICT_MAX_IMAGE_BYTES (raw) or PREDICT_MAX_IMAGES × PREDICT_MAX_IMAGE_BYTES (multipart)'),
  '415': errorResponse('Neither multipart/form-data nor an image Content-Type'),
  '422': {
    description: 'No image could be predicted (each one has its `error`)',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/PredictResponse' } } },
  },
  '429': {
    ...errorResponse('Over PREDICT_RATE_PER_MIN requests per minute for this token, or the prediction queue is full (PREDICT_MAX_QUEUE)'),
    headers: { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } } },
  },
};

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'defectflow prediction API',
    version: '1.0.0',
    description:
      'Classify images with a deployed model. Authenticate with an API token (Settings → API tokens) of an engineer: ' +
      '`Authorization: Bearer dft_…`. Every prediction is stored in the prediction log of the model.',
  },
  servers: [{ url: '/' }],
  security: [{ apiToken: [] }],
  paths: {
    '/api/v1/models/{modelId}/predict': {
      post: {
        operationId: 'predictWithModel',
        summary: 'Classify images with one model (any stage)',
        parameters: [{ name: 'modelId', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody,
        responses,
      },
    },
    '/api/v1/product-lines/{productLineId}/predict': {
      post: {
        operationId: 'predictWithProductLine',
        summary: "Classify images with a product line's production model, or with the version named",
        parameters: [
          { name: 'productLineId', in: 'path', required: true, schema: { type: 'string' } },
          {
            name: 'version',
            in: 'query',
            required: false,
            description: 'A model version of the line (1, 2, …), whatever its stage; default: the production model',
            schema: { type: 'integer', minimum: 1 },
          },
        ],
        requestBody,
        responses,
      },
    },
  },
  components: {
    securitySchemes: { apiToken: { type: 'http', scheme: 'bearer', description: 'An API token, dft_…' } },
    schemas: {
      Error: { type: 'object', properties: { error: { type: 'string' } }, required: ['error'] },
      Model: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          name: { type: 'string' },
          version: { type: 'integer', description: '1, 2, … in its product line' },
          stage: { type: 'string', enum: ['staging', 'production', 'archived'] },
        },
        required: ['id', 'name', 'version', 'stage'],
      },
      Decision: {
        type: 'object',
        description: "The model's operating point applied: defect when 1 − p(goodClass) ≥ threshold",
        properties: {
          defect: { type: 'boolean' },
          defectScore: { type: 'number' },
          threshold: { type: 'number' },
          goodClass: { type: 'string' },
        },
        required: ['defect', 'defectScore', 'threshold', 'goodClass'],
      },
      Drift: {
        type: 'object',
        description: "Input drift: k-NN distance of the image's pooled backbone features to the training set's; drifted above the threshold calibrated on the validation split (99th percentile)",
        properties: { score: { type: 'number' }, threshold: { type: 'number' }, drifted: { type: 'boolean' } },
        required: ['score', 'threshold', 'drifted'],
      },
      ImagePrediction: {
        type: 'object',
        properties: {
          id: { type: ['string', 'null'], description: 'The prediction log row' },
          name: { type: 'string', description: 'The file name sent (multipart) or image.<ext> (raw body)' },
          class: { type: 'string', description: 'The decided class (the operating point applied when the model has one)' },
          confidence: { type: 'number', description: 'Probability of `class`' },
          probabilities: { type: 'object', additionalProperties: { type: 'number' }, description: 'Per label; they sum to 1' },
          lowConfidence: { type: 'boolean', description: 'confidence < PREDICTION_LOW_CONFIDENCE' },
          decision: { oneOf: [{ $ref: '#/components/schemas/Decision' }, { type: 'null' }] },
          drift: { oneOf: [{ $ref: '#/components/schemas/Drift' }, { type: 'null' }], description: 'null for a model deployed without a drift reference' },
          model: { $ref: '#/components/schemas/Model' },
          latencyMs: { type: 'number', description: "From the prediction queue to the answer; the request's images share it" },
        },
        required: ['name', 'class', 'confidence', 'probabilities', 'decision', 'model', 'latencyMs'],
      },
      ImageError: {
        type: 'object',
        properties: { name: { type: 'string' }, error: { type: 'string' }, model: { $ref: '#/components/schemas/Model' } },
        required: ['name', 'error', 'model'],
      },
      PredictResponse: {
        type: 'object',
        properties: {
          predictions: {
            type: 'array',
            items: { oneOf: [{ $ref: '#/components/schemas/ImagePrediction' }, { $ref: '#/components/schemas/ImageError' }] },
          },
          error: { type: 'string', description: 'Only when no image could be predicted (422)' },
        },
        required: ['predictions'],
      },
    },
  },
} as const;
