/**
 * The alarm webhook (ALARM_WEBHOOK_URL): each alarm raised (and cleared) is POSTed as JSON, retried with
 * exponential backoff (ALARM_WEBHOOK_RETRIES attempts after the first, 1 s, 2 s, 4 s, … capped at 60 s) on a network
 * error, a timeout (ALARM_WEBHOOK_TIMEOUT_MS) or a 5xx/429 answer. Deliveries run in the background, one at a time in
 * order, never in a prediction's path; past WEBHOOK_MAX_QUEUE waiting, the oldest is dropped with a warning.
 */
import { errorMessage, type Logger } from '../log.ts';

export interface WebhookOptions {
  url: string;
  retries: number;
  timeoutMs: number;
  log: Logger;
  /** For tests: the first backoff (1000 ms). */
  baseDelayMs?: number;
}

export const WEBHOOK_MAX_QUEUE = 1000;

export class AlarmWebhook {
  private readonly queue: unknown[] = [];
  private running = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(readonly options: WebhookOptions) {}

  /** Queues one delivery; returns at once. */
  send(payload: unknown): void {
    if (this.closed) return;
    if (this.queue.length >= WEBHOOK_MAX_QUEUE) {
      this.queue.shift();
      this.options.log.warn(`alarm webhook: more than ${WEBHOOK_MAX_QUEUE} deliveries waiting; dropped the oldest`);
    }
    this.queue.push(payload);
    void this.pump();
  }

  /** Resolves when nothing is queued or being delivered (tests, shutdown). */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) await this.deliver(next);
    } finally {
      this.running = false;
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async deliver(payload: unknown): Promise<void> {
    const body = JSON.stringify(payload);
    const base = this.options.baseDelayMs ?? 1000;
    for (let attempt = 0; ; attempt++) {
      let why: string;
      try {
        const res = await fetch(this.options.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'defectflow-alarms' },
          body,
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
        await res.arrayBuffer().catch(() => {});
        if (res.ok) return;
        why = `HTTP ${res.status}`;
        // A 4xx other than 429 will not get better by asking again.
        if (res.status < 500 && res.status !== 429) {
          this.options.log.warn(`alarm webhook: ${this.options.url} refused the alarm (${why}); not retried`);
          return;
        }
      } catch (err) {
        why = errorMessage(err);
      }
      if (attempt >= this.options.retries || this.closed) {
        this.options.log.warn(`alarm webhook: ${this.options.url} failed ${attempt + 1} time(s) (${why}); giving up on this alarm (ALARM_WEBHOOK_RETRIES=${this.options.retries})`);
        return;
      }
      await new Promise((r) => setTimeout(r, Math.min(60_000, base * 2 ** attempt)).unref());
    }
  }
}
