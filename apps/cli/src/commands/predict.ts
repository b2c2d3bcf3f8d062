import path from 'node:path';
import { predictImages } from '@defectflow/engine';

export async function predictCommand(opts: { modelDir: string; images: string[]; json: boolean }): Promise<number> {
  const predictions = await predictImages(path.resolve(opts.modelDir), opts.images.map((p) => path.resolve(p)));
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(predictions, null, 2)}\n`);
  } else {
    for (const p of predictions) {
      process.stdout.write(`${p.path}\t${p.label}\t${p.confidence.toFixed(4)}\n`);
    }
  }
  return 0;
}
