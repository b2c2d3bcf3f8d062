/**
 * Backbone uploads: PUT /api/backbones/upload?name=<name>.onnx with the .onnx file as the body (streamed
 * to a temporary file, never buffered), bounded by BACKBONE_UPLOAD_MAX_BYTES. The file must read as an
 * ONNX image model (one 4-D input, at least one 4-D feature map): otherwise it is deleted and the answer
 * says why. An existing name is refused (409): a file is never replaced under runs that used it.
 */
import { createWriteStream } from 'node:fs';
import { link, mkdir, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errorMessage, type Logger } from '../log.ts';
import { PredictUnavailableError } from '../predict.ts';
import type { BackboneInspector } from '../predict-transport.ts';
import { BackboneLibraryError, backbonesRoot, checkBackboneName, describeBackbone } from './library.ts';

export interface BackboneUploadOptions {
  dataDir: string;
  /** BACKBONE_UPLOAD_MAX_BYTES. */
  maxBytes: number;
  log: Logger;
  /** The runner's cut point listing: an upload that is not a usable backbone is removed again. */
  inspector: BackboneInspector;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const close = status >= 400 ? { connection: 'close' } : {};
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...close });
  res.end(JSON.stringify(body));
}

const tooLarge = (max: number) =>
  new BackboneLibraryError(413, `The backbone file is larger than BACKBONE_UPLOAD_MAX_BYTES (${max} bytes); raise it to import larger models`);

export function createBackboneUploadRoute(opts: BackboneUploadOptions) {
  const root = backbonesRoot(opts.dataDir);

  async function upload(req: IncomingMessage, url: URL) {
    const name = checkBackboneName(url.searchParams.get('name'));
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > opts.maxBytes) throw tooLarge(opts.maxBytes);
    await mkdir(root, { recursive: true });
    const tmp = join(root, `.${name}.${process.pid}.${Date.now()}.upload`);
    const target = join(root, name);
    let bytes = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        done(bytes > opts.maxBytes ? tooLarge(opts.maxBytes) : null, chunk);
      },
    });
    try {
      await pipeline(req, meter, createWriteStream(tmp, { flags: 'wx' }));
      // link() fails if the name exists: two uploads of one name cannot both win.
      await link(tmp, target).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'EEXIST') throw new BackboneLibraryError(409, `A backbone named "${name}" already exists; choose another name`);
        throw err;
      });
    } finally {
      await rm(tmp, { force: true });
    }
    try {
      await opts.inspector.cutPoints(name);
    } catch (err) {
      if (err instanceof PredictUnavailableError) {
        await rm(target, { force: true });
        throw new BackboneLibraryError(503, `${name} was not imported: ${err.message}`);
      }
      // Any other failure is the file's own: described below and refused.
    }
    const described = await describeBackbone(opts.dataDir, name, opts.inspector);
    if (described.error || described.cutPoints.length === 0) {
      await rm(target, { force: true });
      throw new BackboneLibraryError(400, `${name} is not a usable backbone: ${described.error ?? 'the graph has no 4-D feature map to cut at'}`);
    }
    opts.log.info(`backbone ${name} imported: ${described.params} parameters, ${described.cutPoints.length} cut points`);
    return described;
  }

  /** Handles /api/backbones/upload; false for any other URL. */
  return async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    if (url.pathname !== '/api/backbones/upload') return false;
    try {
      if (req.method !== 'PUT') throw new BackboneLibraryError(400, `${req.method} is not supported on ${url.pathname}; PUT the .onnx file`);
      send(res, 200, await upload(req, url));
    } catch (err) {
      if (err instanceof BackboneLibraryError) send(res, err.status, { error: err.message });
      else {
        opts.log.error(`${req.method} ${url.pathname}: ${errorMessage(err)}`);
        send(res, 500, { error: errorMessage(err) });
      }
    }
    return true;
  };
}
