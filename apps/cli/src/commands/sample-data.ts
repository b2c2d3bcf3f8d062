import path from 'node:path';
import { SAMPLE_DATASET_KINDS, type SampleDatasetKind, generateSampleDataset } from '@defectflow/engine';

export function parseSampleKind(value: string | undefined): SampleDatasetKind {
  const kind = SAMPLE_DATASET_KINDS.find((k) => k === value);
  if (!kind) throw new Error(`--kind must be one of ${SAMPLE_DATASET_KINDS.join(', ')}, got "${value}"`);
  return kind;
}

export async function sampleDataCommand(opts: {
  dir: string;
  kind: SampleDatasetKind;
  perClass?: number;
  size?: number;
  scale?: number;
  seed: number;
}): Promise<number> {
  const dir = path.resolve(opts.dir);
  let shown = -1;
  const result = await generateSampleDataset(dir, {
    kind: opts.kind,
    perClass: opts.perClass,
    size: opts.size,
    scale: opts.scale,
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
