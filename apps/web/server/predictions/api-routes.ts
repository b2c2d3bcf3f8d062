/**
 * The prediction API (plain HTTP, JSON out; described in openapi.ts):
 *   GET  /api/v1/openapi.json                                   the OpenAPI 3.1 description
 *   POST /api/v1/models/<modelId>/predict                       one model, whatever its stage
 *   POST /api/v1/product-lines/<lineId>/predict[?version=N]     the line's production model, or version N
 * The request guard has already refused callers without an engineer (401/403 JSON; `routeRole`). Here: a rate
 * limit per API token (PREDICT_RATE_PER_MIN, 429 + Retry-After), the model, the body (body.ts), then the
 * prediction worker and the prediction log (service.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Model, Repositories } from '@defectflow/db';
import type { Principal } from '../auth/principal.ts';
import { type LimitVerdict, SlidingWindowLimiter } from '../auth/rate-limit.ts';
import { errorMessage, type Logger } from '../log.ts';
import { PathOutsideRootError } from '../paths.ts';
import { PredictBusyError, PredictInputError, PredictUnavailableError } from '../predict.ts';
import type { PredictFn } from '../trpc.ts';
import { BodyError, readPredictImages } from './body.ts';
import type { PredictionLog } from './log.ts';
import { openApiDocument } from './openapi.ts';
import { OPENAPI_PATH, PREDICT_PATH } from './paths.ts';
import { apiPredictions, predictAndLog } from './service.ts';

export interface PredictionApiOptions {
  repo: Repositories;
  predict: PredictFn;
  predictionLog: PredictionLog;
  modelsDir: string;
  /** PREDICT_MAX_IMAGES / PREDICT_MAX_IMAGE_BYTES. */
  limits: { maxImages: number; maxImageBytes: number };
  /** PREDICT_RATE_PER_MIN. */
  ratePerMin: number;
  /** Cluster mode: the limiter every web server shares (RedisWindowLimiter); default: this process's own count. */
  limiter?: { take(key: string): LimitVerdict | Promise<LimitVerdict> };
  /** Who is asking (the request guard's resolution, cached per request). */
  principal(req: IncomingMessage): Promise<Principal>;
  log: Logger;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

/** Rate limits count per API token; a signed-in browser or the local admin counts as its user. */
function rateKey(principal: Principal): string {
  if (principal.kind === 'user' && principal.tokenId) return `token:${principal.tokenId}`;
  return principal.kind === 'anonymous' ? 'anonymous' : `user:${principal.user.id}`;
}

async function resolveModel(repo: Repositories, kind: string, id: string, url: URL): Promise<Model> {
  if (kind === 'models') {
    const model = await repo.models.get(id);
    if (!model) throw new ApiError(404, `model ${id} does not exist`);
    return model;
  }
  const line = await repo.productLines.get(id);
  if (!line) throw new ApiError(404, `product line ${id} does not exist`);
  const versionParam = url.searchParams.get('version');
  if (versionParam !== null) {
    const version = Number(versionParam);
    if (!/^\d+$/.test(versionParam) || !Number.isSafeInteger(version) || version < 1) {
      throw new ApiError(400, `version must be a whole number ≥ 1 (a model version of the line), not "${versionParam}"`);
    }
    const model = await repo.models.getByVersion(line.id, version);
    if (!model) throw new ApiError(404, `product line "${line.name}" has no model version ${version}`);
    return model;
  }
  const production = await repo.models.getProduction(line.id);
  if (!production) {
    throw new ApiError(
      409,
      `product line "${line.name}" has no production model: promote one on its models page, or name a version (?version=N)`,
    );
  }
  return production;
}

export function createPredictionApiRoutes(opts: PredictionApiOptions) {
  const limiter = opts.limiter ?? new SlidingWindowLimiter(opts.ratePerMin, 60_000);

  const predictRoute = async (req: IncomingMessage, res: ServerResponse, url: URL, kind: string, id: string) => {
    const principal = await opts.principal(req);
    const verdict = await limiter.take(rateKey(principal));
    if (!verdict.ok) {
      throw new ApiError(
        429,
        `Too many prediction requests: the limit is ${opts.ratePerMin} per minute per API token (PREDICT_RATE_PER_MIN); try again in ${verdict.retryAfterS} s`,
        { 'retry-after': String(verdict.retryAfterS) },
      );
    }
    const model = await resolveModel(opts.repo, kind, id, url);
    const images = await readPredictImages(req, opts.limits);
    const tokenId = principal.kind === 'user' ? (principal.tokenId ?? null) : null;
    let result: Awaited<ReturnType<typeof predictAndLog>>;
    try {
      result = await predictAndLog(opts, model, images, { source: 'api', tokenId });
    } catch (err) {
      if (err instanceof PredictBusyError) throw new ApiError(429, err.message, { 'retry-after': '1' });
      if (err instanceof PredictInputError) throw new ApiError(400, err.message);
      if (err instanceof PredictUnavailableError) throw new ApiError(503, err.message, { 'retry-after': '5' });
      if (err instanceof PathOutsideRootError) throw new ApiError(500, err.message);
      throw new ApiError(503, `model ${model.id} could not predict: ${errorMessage(err)}`);
    }
    const predictions = apiPredictions(model, result, opts.predictionLog.lowConfidenceThreshold);
    const failed = predictions.filter((p) => 'error' in p);
    if (failed.length === predictions.length) {
      const first = failed[0] as { name: string; error: string } | undefined;
      sendJson(res, 422, { error: `no image could be predicted: ${first ? `${first.name}: ${first.error}` : 'none sent'}`, predictions });
      return;
    }
    sendJson(res, 200, { predictions });
  };

  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    if (url.pathname === OPENAPI_PATH) {
      if (req.method !== 'GET' && req.method !== 'HEAD') sendJson(res, 405, { error: 'only GET' }, { allow: 'GET, HEAD' });
      else sendJson(res, 200, openApiDocument, { 'cache-control': 'public, max-age=300' });
      return true;
    }
    const match = PREDICT_PATH.exec(url.pathname);
    if (!match) return false;
    try {
      if (req.method !== 'POST') throw new ApiError(405, 'only POST', { allow: 'POST' });
      await predictRoute(req, res, url, match[1] as string, decodeURIComponent(match[2] as string));
    } catch (err) {
      // The body may be unread (refused early): do not keep the connection for the rest of it.
      req.resume();
      if (err instanceof ApiError) sendJson(res, err.status, { error: err.message }, { ...err.headers, connection: 'close' });
      else if (err instanceof BodyError) sendJson(res, err.status, { error: err.message }, { connection: 'close' });
      else {
        opts.log.error(`${req.method} ${url.pathname}: ${errorMessage(err)}`);
        sendJson(res, 500, { error: errorMessage(err) }, { connection: 'close' });
      }
    }
    return true;
  };
}
