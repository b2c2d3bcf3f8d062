import path from 'node:path';
import { generateSampleDataset } from '@defectflow/engine';

export async function sampleDataCommand(opts: { dir: string; perClass: number; size: number; seed: number }): Promise<number> {
  const dir = path.resolve(opts.dir);
  let shown = -1;
  const result = await generateSampleDataset(dir, {
    perClass: opts.perClass,
    size: opts.size,
    seed: opts.seed,
    onProgress: (done, total) => {
      const pct = Math.floor((done / total) * 100);
      if (pct !== shown && (pct % 10 === 0 || done === total)) {
        shown = pct;
        process.stderr.write(`sample-data: ${done}/${total} images (${pct}%)\n`);
      }
    },
  });
  process.stdout.write(`wrote ${result.files} images in ${result.classes.length} classes to ${result.dir}\n`);
  return 0;
}
