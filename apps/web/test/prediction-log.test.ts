/**
 * The prediction log on a real database (PGlite) and real files (images made by sharp): which images are kept
 * (sample, low confidence), the image budget dropping the oldest first (rows keep their hash), retention pruning
 * old rows and their files at start, and a deleted model's folder.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DbHandle } from '@defectflow/db';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../server/log.ts';
import { imageExtension, type LogEntry, PredictionLog, type PredictionLogOptions } from '../server/predictions/log.ts';
import { memoryDb, tempDir } from './helpers.ts';

let db: DbHandle;
const DAY = 86_400_000;

async function png(seed: number, size = 48): Promise<Buffer> {
  const raw = randomBytes(size * size * 3);
  raw[0] = seed & 0xff;
  return sharp(raw, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
}

function entry(data: Buffer, confidence: number, name = 'cam.png'): LogEntry {
  return { name, data, label: 'good', confidence, probabilities: { good: confidence, scratch: 1 - confidence }, latencyMs: 7.6 };
}

/** Every kept file under the log's folder, relative to it. */
function keptFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => /\.(png|jpg|img)$/.test(f)).sort();
}

function makeLog(options: Partial<PredictionLogOptions> = {}): PredictionLog {
  return new PredictionLog({
    repo: db.repo,
    dir: join(tempDir('df-predlog-'), 'predictions'),
    sampleRate: 0,
    lowConfidence: 0.6,
    imagesMaxBytes: 1024 ** 3,
    retentionDays: 90,
    log: silentLogger,
    ...options,
  });
}

// Each test gets its own database: the image budget counts every kept image of the database.
beforeEach(async () => {
  db = await memoryDb();
  const line = await db.repo.productLines.create('Log line');
  for (const id of ['m1', 'm2', 'm3', 'm4']) {
    await db.repo.models.create({ id, productLineId: line.id, name: id, dir: `/models/${id}`, labels: ['good', 'scratch'], inputSize: 32 });
  }
});
afterEach(async () => {
  await db?.close();
});

describe('prediction log', () => {
  it('keeps the image of every low-confidence answer and of the sampled ones, and no other', async () => {
    const draws = [0.3, 0.7, 0.01];
    const log = makeLog({ sampleRate: 0.25, random: () => draws.shift() ?? 1 });
    const images = await Promise.all([1, 2, 3, 4].map((k) => png(k)));
    // confident, draw 0.3 (not sampled) · low confidence (no draw needed) · confident, draw 0.7 · confident, draw 0.01 (sampled)
    const rows = await log.record([entry(images[0]!, 0.95), entry(images[1]!, 0.55), entry(images[2]!, 0.9), entry(images[3]!, 0.99)], {
      model: { id: 'm1', version: 1 },
      source: 'api',
    });
    expect(rows.map((r) => [r.lowConfidence, r.imageReason])).toEqual([
      [false, null],
      [true, 'low_confidence'],
      [false, null],
      [false, 'sample'],
    ]);
    expect(rows.map((r) => r.imageSha256)).toEqual(images.map((i) => createHash('sha256').update(i).digest('hex')));
    expect(rows.every((r) => r.latencyMs === 8 && r.modelVersion === 1)).toBe(true);
    expect(keptFiles(log.options.dir)).toHaveLength(2);
    for (const r of [rows[1]!, rows[3]!]) expect(log.imageFile(r)).toMatch(/\/predictions\/m1\/\d{4}-\d\d-\d\d\/[0-9a-f-]+\.png$/);
  });

  it('the image budget drops the oldest images first; their rows stay with the hash', async () => {
    const images = await Promise.all([11, 12, 13, 14].map((k) => png(k)));
    const budget = images[2]!.length + images[3]!.length; // room for the two newest only
    let now = Date.parse('2031-05-01T10:00:00Z');
    const log = makeLog({ sampleRate: 1, imagesMaxBytes: budget, now: () => now });
    const ids: string[] = [];
    for (const image of images) {
      now += 1000;
      const [row] = await log.record([entry(image, 0.9)], { model: { id: 'm2', version: 3 }, source: 'ui' });
      ids.push(row!.id);
    }
    const rows = await Promise.all(ids.map((id) => db.repo.predictions.get(id)));
    expect(rows.map((r) => r?.imagePath !== null)).toEqual([false, false, true, true]);
    expect(rows[0]?.imageSha256).toBe(createHash('sha256').update(images[0]!).digest('hex'));
    expect(keptFiles(log.options.dir)).toEqual(rows.slice(2).map((r) => r!.imagePath!).sort());
    expect(await db.repo.predictions.keptImageBytes()).toBe(budget);

    // An image larger than the whole budget is not kept at all (it would push every other one out).
    const big = await png(15, 160);
    expect(big.length).toBeGreaterThan(budget);
    const [row] = await log.record([entry(big, 0.1)], { model: { id: 'm2', version: 3 }, source: 'api' });
    expect(row).toMatchObject({ lowConfidence: true, imagePath: null });
    expect(keptFiles(log.options.dir)).toHaveLength(2);
  });

  it('retention: rows and images older than PREDICTION_RETENTION_DAYS are deleted at start; newer ones stay', async () => {
    let now = Date.now() - 100 * DAY;
    const dir = join(tempDir('df-predlog-'), 'predictions');
    const writer = makeLog({ dir, sampleRate: 1, now: () => now });
    const [old] = await writer.record([entry(await png(21), 0.9)], { model: { id: 'm3', version: 1 }, source: 'api' });
    now = Date.now() - 10 * DAY;
    const [recent] = await writer.record([entry(await png(22), 0.9)], { model: { id: 'm3', version: 1 }, source: 'api' });
    expect(keptFiles(dir)).toHaveLength(2);

    const log = makeLog({ dir, retentionDays: 30 });
    await log.start();
    log.close();
    expect(await db.repo.predictions.get(old!.id)).toBeNull();
    expect(await db.repo.predictions.get(recent!.id)).not.toBeNull();
    expect(keptFiles(dir)).toEqual([recent!.imagePath!]);
    // The old day's folder went with its last image.
    expect(readdirSync(join(dir, 'm3'))).toEqual([recent!.imagePath!.split('/')[1]]);
  });

  it("a deleted model's rows go with it and forgetModel removes its folder", async () => {
    const log = makeLog({ sampleRate: 1 });
    await log.record([entry(await png(31), 0.9)], { model: { id: 'm4', version: 1 }, source: 'api' });
    expect(existsSync(join(log.options.dir, 'm4'))).toBe(true);
    await db.repo.models.remove('m4');
    await log.forgetModel('m4');
    expect(existsSync(join(log.options.dir, 'm4'))).toBe(false);
    expect(await db.repo.predictions.count('m4')).toBe(0);
  });

  it('names kept files by their format, whatever the client called them', async () => {
    expect(imageExtension(await png(41))).toBe('.png');
    expect(imageExtension(await sharp(await png(42)).jpeg().toBuffer())).toBe('.jpg');
    expect(imageExtension(await sharp(await png(43)).webp().toBuffer())).toBe('.webp');
    expect(imageExtension(Buffer.from('not an image'))).toBe('.img');
  });
});
