// Preload (`node --import <this file>`, through NODE_OPTIONS) that records every module the process resolves, ESM
// (a module.register resolve hook) and CommonJS (Module._resolveFilename), one per line in
// $RECORD_RESOLUTIONS_DIR/<pid>.txt. The no-TensorFlow test reads the web server's file.
import { appendFileSync, mkdirSync } from 'node:fs';
import Module, { register } from 'node:module';
import { join } from 'node:path';

const dir = process.env.RECORD_RESOLUTIONS_DIR;
if (dir) {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${process.pid}.txt`);
  const seen = new Set();
  const note = (what) => {
    if (seen.has(what)) return;
    seen.add(what);
    appendFileSync(file, `${what}\n`);
  };
  const original = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    const resolved = original.call(this, request, ...rest);
    note(`cjs ${request} ${resolved}`);
    return resolved;
  };
  // The hooks run on their own thread: they append to the same file directly.
  register(
    `data:text/javascript,${encodeURIComponent(`
      import { appendFileSync } from 'node:fs';
      let file;
      export function initialize(data) { file = data.file; }
      export async function resolve(specifier, context, next) {
        const result = await next(specifier, context);
        appendFileSync(file, 'esm ' + specifier + ' ' + result.url + '\\n');
        return result;
      }
    `)}`,
    { data: { file } },
  );
}
