/**
 * The run event union shared by runner, web and browser (DESIGN.md "Events").
 * The executor emits events without `runId`/`seq`/`ts`; the runner stamps them.
 */
/** `interrupted`: the runner was stopped (shutdown, its web server gone) before the run could finish. */
export type RunStatus = 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

/** One finished epoch. Epochs count from 1: the last one has `epoch === epochs` (early stopping may end sooner). */
export interface TrainEpochEvent {
  type: 'train.epoch';
  nodeId: string;
  /** 1-based. */
  epoch: number;
  epochs: number;
  loss: number;
  acc: number;
  valLoss: number | null;
  valAcc: number | null;
  lr: number;
  etaMs?: number;
}

/** Some of an epoch's batches. Both count from 1: batch `batches` of epoch N ends epoch N. */
export interface TrainBatchEvent {
  type: 'train.batch';
  nodeId: string;
  /** 1-based, as in train.epoch. */
  epoch: number;
  /** 1-based. */
  batch: number;
  batches: number;
  loss: number;
  acc?: number;
}

export type RunEventBody =
  /** `runnerId`: the runner that holds the run (stamped by the runner; one of several in cluster mode). */
  | { type: 'run.started'; backend: string; device: string; runnerId?: string }
  | { type: 'node.started'; nodeId: string; nodeType: string }
  | {
      type: 'node.cached';
      nodeId: string;
      nodeType: string;
      summary?: Record<string, unknown>;
      /** The run and node whose outputs were reused: their files (full metrics, curves) are there. */
      from?: { runId: string; nodeId: string };
    }
  | { type: 'node.progress'; nodeId: string; phase: string; done: number; total: number; etaMs?: number }
  | TrainEpochEvent
  | TrainBatchEvent
  | { type: 'node.log'; nodeId?: string; level: 'debug' | 'info' | 'warn' | 'error'; message: string }
  | { type: 'node.finished'; nodeId: string; nodeType: string; summary: Record<string, unknown>; durationMs: number }
  | { type: 'node.failed'; nodeId: string; nodeType: string; code: string; message: string }
  | { type: 'run.finished'; status: RunStatus; error?: string; durationMs: number };

export type RunEventType = RunEventBody['type'];

export type RunEvent = RunEventBody & { runId: string; seq: number; ts: number };

/** Where events go: a socket, the console, a test recorder. The executor only knows this. */
export type EventSink = (event: RunEventBody) => void;

export const TERMINAL_EVENT: RunEventType = 'run.finished';
