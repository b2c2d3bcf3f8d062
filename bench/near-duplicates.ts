/**
 * Issue 20 item 3 — the near-duplicate check on textures: how many cross-class pairs it reports on the
 * two sample sets (every one is a false alarm: the generator draws each image anew), and how many
 * re-saved copies of sample images it still finds.
 *
 *   npx tsx bench/near-duplicates.ts [--datasets /tmp/df-nd-bench] [--copies 60]
 *
 * Copies: for `--copies` images of each set, a JPEG at quality 60, a 75 % PNG, a half-size JPEG at
 * quality 75 and a 10 % brighter PNG, each compared with its original.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { generateSampleDataset } from '../packages/engine/src/data/index.ts';
import {
  areNearDuplicates,
  findNearDuplicatesAcrossClasses,
  imageSignature,
} from '../apps/web/server/datasets/near-duplicates.ts';
import { arg, machineHeader } from './lib/machine.ts';

const ROOT = path.resolve(arg('datasets', '/tmp/df-nd-bench'));
const COPIES = Number(arg('copies', '60'));

const variants: Record<string, (file: string, width: number) => Promise<Buffer>> = {
  jpeg60: (f) => sharp(f).jpeg({ quality: 60 }).toBuffer(),
  scale75: (f, w) => sharp(f).resize(Math.round(w * 0.75)).png().toBuffer(),
  half_jpeg75: (f, w) => sharp(f).resize(Math.round(w * 0.5)).jpeg({ quality: 75 }).toBuffer(),
  brighter10: (f) => sharp(f).modulate({ brightness: 1.1 }).png().toBuffer(),
};

console.log(machineHeader('Near-duplicate check on textures'));
for (const kind of ['steel', 'small-defects'] as const) {
  const dir = path.join(ROOT, kind);
  if (!existsSync(dir)) await generateSampleDataset(dir, { kind });
  const items = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(path.join(dir, d.name)).map((f) => ({ id: `${d.name}/${f}`, path: path.join(dir, d.name, f), className: d.name })));
  const t0 = performance.now();
  const pairs = (await findNearDuplicatesAcrossClasses(items)) ?? [];
  const seconds = (performance.now() - t0) / 1000;
  const found: Record<string, number> = {};
  for (let k = 0; k < COPIES; k++) {
    const item = items[(k * 37) % items.length]!;
    const width = (await sharp(item.path).metadata()).width!;
    const original = await imageSignature(item.path);
    for (const [name, make] of Object.entries(variants)) {
      if (areNearDuplicates(original, await imageSignature(await make(item.path, width)))) found[name] = (found[name] ?? 0) + 1;
    }
  }
  console.log(
    JSON.stringify({
      kind,
      images: items.length,
      crossClassPairs: pairs.length,
      checkSeconds: Number(seconds.toFixed(2)),
      copiesFound: Object.fromEntries(Object.keys(variants).map((v) => [v, `${found[v] ?? 0}/${COPIES}`])),
    }),
  );
}
