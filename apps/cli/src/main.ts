import { parseArgs } from 'node:util';

// Commands are imported when used: loading TensorFlow.js takes seconds, --help and usage errors should not.

const USAGE = `defectflow — train defect classifiers by transfer learning, headless

Usage:
  defectflow run <pipeline.json> [--dataset DIR] [--json]
      Run a pipeline (the same JSON the editor exports). --dataset points every dataset node at DIR.
      Progress goes to stderr; with --json one JSON object (status, backend, metrics, timings) goes to stdout.
  defectflow sample-data <dir> [--kind steel|small-defects] [--per-class N] [--size PX] [--scale X] [--seed N]
      Write a synthetic defect set to <dir>: steel (default; six NEU-style classes, 300 per class, 200 px)
      or small-defects (magnetic-tile-style: ~70 % good, five small local defects, 1,344 images of
      varying size; --scale multiplies the image counts).
  defectflow predict <modelDir> <image...> [--json]
      Classify images with a model exported by a deploy node.
  defectflow sweep <pipeline.json> <sweep.json> [--out best.json] [--dataset DIR] [--json]
      Hyperparameter sweep: sweep.json says which node params vary (list, range or log range), the strategy
      (grid, random, halving), the validation metric and the budget, e.g.
        {"strategy": "random", "budget": {"trials": 20},
         "dimensions": [{"nodeId": "train", "param": "learningRate", "kind": "log", "min": 0.0001, "max": 0.03}]}
      Trials run here one after another on the validation split, reusing cached features where only head or
      training params change; one line per trial on stderr. The best params then run once on the test split;
      --out writes the pipeline with them applied. Ctrl-C cancels the running trial and starts no more.

Environment: DATA_DIR (default ./.defectflow: caches, runs, models), DATASETS_ROOT (default DATA_DIR/datasets),
OUTPUT_CACHE_ENTRIES (default 32: node outputs a sweep keeps between trials).
`;

/** Returns the process exit code; never throws (errors are printed with what to fix). */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { dataset: { type: 'string' }, json: { type: 'boolean', default: false } },
        });
        if (positionals.length !== 1) return usageError('run needs exactly one <pipeline.json>');
        const { runCommand } = await import('./commands/run.ts');
        return await runCommand({ file: positionals[0] as string, dataset: values.dataset, json: values.json ?? false });
      }
      case 'sample-data': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: {
            kind: { type: 'string', default: 'steel' },
            'per-class': { type: 'string' },
            size: { type: 'string' },
            scale: { type: 'string' },
            seed: { type: 'string', default: '1' },
          },
        });
        if (positionals.length !== 1) return usageError('sample-data needs exactly one <dir>');
        const { sampleDataCommand, parseSampleKind } = await import('./commands/sample-data.ts');
        const kind = parseSampleKind(values.kind);
        if (kind === 'small-defects' && (values['per-class'] !== undefined || values.size !== undefined)) {
          return usageError('--per-class and --size apply to --kind steel; use --scale for small-defects');
        }
        if (kind === 'steel' && values.scale !== undefined) return usageError('--scale applies to --kind small-defects; use --per-class for steel');
        return await sampleDataCommand({
          dir: positionals[0] as string,
          kind,
          perClass: values['per-class'] === undefined ? undefined : positiveInt(values['per-class'], '--per-class'),
          size: values.size === undefined ? undefined : positiveInt(values.size, '--size'),
          scale: values.scale === undefined ? undefined : positiveNumber(values.scale, '--scale'),
          seed: positiveInt(values.seed, '--seed'),
        });
      }
      case 'predict': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { json: { type: 'boolean', default: false } },
        });
        if (positionals.length < 2) return usageError('predict needs <modelDir> and at least one <image>');
        const [modelDir, ...images] = positionals as [string, ...string[]];
        const { predictCommand } = await import('./commands/predict.ts');
        return await predictCommand({ modelDir, images, json: values.json ?? false });
      }
      case 'sweep': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { out: { type: 'string' }, dataset: { type: 'string' }, json: { type: 'boolean', default: false } },
        });
        if (positionals.length !== 2) return usageError('sweep needs <pipeline.json> and <sweep.json>');
        const [pipelineFile, sweepFile] = positionals as [string, string];
        const { sweepCommand } = await import('./commands/sweep.ts');
        return await sweepCommand({ pipelineFile, sweepFile, out: values.out, dataset: values.dataset, json: values.json ?? false });
      }
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(USAGE);
        return command === undefined ? 1 : 0;
      default:
        return usageError(`unknown command "${command}"`);
    }
  } catch (error) {
    process.stderr.write(`defectflow: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

function usageError(message: string): number {
  process.stderr.write(`defectflow: ${message}\n\n${USAGE}`);
  return 2;
}

function positiveNumber(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number, got "${value}"`);
  return n;
}

function positiveInt(value: string | undefined, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got "${value}"`);
  return n;
}
