/** The prediction API's paths: the routes (api-routes.ts) and the request guard's role rule share them. */

/** POST /api/v1/models/<modelId>/predict and /api/v1/product-lines/<lineId>/predict. */
export const PREDICT_PATH = /^\/api\/v1\/(models|product-lines)\/([^/]+)\/predict$/;
/** The OpenAPI description: public (it holds no data). */
export const OPENAPI_PATH = '/api/v1/openapi.json';
