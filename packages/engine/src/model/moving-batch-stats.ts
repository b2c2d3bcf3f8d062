/**
 * The moving batch-norm statistics of a head trained in ONNX Runtime (OnnxSpatialStepper, OnnxFinetuneStepper):
 * an exponential average of each step's batch mean and variance, debiased so the first steps count fully, and the
 * layer's initial statistics before any step (Keras semantics at inference).
 */
const MOMENTUM = 0.9;

export class MovingBatchStats {
  private steps = 0;
  private readonly mean: Float32Array;
  private readonly variance: Float32Array;

  constructor(private readonly initial: [Float32Array, Float32Array]) {
    this.mean = new Float32Array(initial[0].length);
    this.variance = new Float32Array(initial[1].length);
  }

  update(mean: Float32Array, variance: Float32Array): void {
    this.steps++;
    for (let f = 0; f < this.mean.length; f++) {
      this.mean[f] = MOMENTUM * (this.mean[f] as number) + (1 - MOMENTUM) * (mean[f] as number);
      this.variance[f] = MOMENTUM * (this.variance[f] as number) + (1 - MOMENTUM) * (variance[f] as number);
    }
  }

  /** [mean, variance] to predict with. */
  current(): [Float32Array, Float32Array] {
    if (this.steps === 0) return [Float32Array.from(this.initial[0]), Float32Array.from(this.initial[1])];
    const debias = 1 - MOMENTUM ** this.steps;
    return [this.mean.map((v) => v / debias), this.variance.map((v) => v / debias)];
  }

  /** Three arrays (a stepper's snapshot appends them after its parameters). */
  snapshot(): Float32Array[] {
    return [Float32Array.from(this.mean), Float32Array.from(this.variance), Float32Array.of(this.steps)];
  }

  /** Reads what snapshot() wrote, from `s[at]` on. */
  restore(s: readonly Float32Array[], at: number): void {
    this.mean.set(s[at] as Float32Array);
    this.variance.set(s[at + 1] as Float32Array);
    this.steps = (s[at + 2] as Float32Array)[0] as number;
  }
}
