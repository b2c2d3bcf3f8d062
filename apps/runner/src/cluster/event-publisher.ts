/**
 * Cluster mode: every event the runner's EventLog writes (events.jsonl first, as in every mode) is appended to
 * Redis in seq order, one run at a time, by the attempt that holds the run (fencing token). Before an evaluate or
 * deploy node's event leaves, its files (full metrics, the model folder) are uploaded (`beforeAppend`), so a web
 * server that reads the event finds them in the store.
 */
import type { RunEvent } from '@defectflow/nodes';
import { appendEvent, type EvalClient } from './protocol.ts';

export interface EventPublisherOptions {
  redis: EvalClient;
  /** Uploads what the event refers to; a failure is logged and the event still goes out. */
  beforeAppend?: (event: RunEvent) => Promise<void>;
  /** Another attempt holds the run (this runner lost its job lock): stop computing it. */
  onFenced: (runId: string) => void;
  log: (message: string) => void;
}

export class EventPublisher {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly holders = new Map<string, string>();

  constructor(private readonly opts: EventPublisherOptions) {}

  /** From now on this run's events are appended with `holder` as fencing token. */
  hold(runId: string, holder: string): void {
    this.holders.set(runId, holder);
  }

  release(runId: string): void {
    this.holders.delete(runId);
    this.chains.delete(runId);
  }

  /** Queues one event of a held run (ignored for runs this runner does not hold). */
  publish(event: RunEvent): void {
    const holder = this.holders.get(event.runId);
    if (!holder) return;
    const previous = this.chains.get(event.runId) ?? Promise.resolve();
    const next = previous
      .then(() => this.send(event, holder))
      .catch((err: unknown) => this.opts.log(`run ${event.runId}: event ${event.seq} not sent to Redis: ${(err as Error).message}`));
    this.chains.set(event.runId, next);
  }

  /** Resolves once every event queued so far for the run is in Redis (or refused). */
  async flush(runId: string): Promise<void> {
    let current: Promise<void> | undefined;
    do {
      current = this.chains.get(runId);
      await current;
    } while (current !== this.chains.get(runId));
  }

  private async send(event: RunEvent, holder: string): Promise<void> {
    if (this.opts.beforeAppend) {
      try {
        await this.opts.beforeAppend(event);
      } catch (err) {
        this.opts.log(`run ${event.runId}: uploading the files of ${event.type} (seq ${event.seq}) failed: ${(err as Error).message}`);
      }
    }
    // ioredis queues commands while reconnecting (maxRetriesPerRequest: null): a Redis restart delays, never drops.
    const outcome = await appendEvent(this.opts.redis, event.runId, event, { seq: event.seq, holder });
    if (outcome.ok) return;
    if (outcome.reason === 'fenced' || (outcome.reason === 'finished' && event.type !== 'run.finished')) {
      // Another attempt holds the run, or has already ended it: this one only wastes a slot.
      this.opts.log(`run ${event.runId}: another runner holds or ended this run; stopping it here (event ${event.seq} not sent)`);
      this.holders.delete(event.runId);
      this.opts.onFenced(event.runId);
      return;
    }
    this.opts.log(`run ${event.runId}: event ${event.seq} refused, Redis is at seq ${outcome.lastSeq}`);
  }
}
