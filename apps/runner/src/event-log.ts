import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import type { RunEvent, RunEventBody } from '@defectflow/nodes';

/** Run ids become directory names, so they are restricted to a safe alphabet. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

type Listener = (event: RunEvent) => void;

export interface EventLogOptions {
  /** Appends one line to a file (default appendFileSync); tests inject a failing one (disk full). */
  appendLine?: (file: string, line: string) => void;
}

/**
 * Stamps executor events (runId, per-run gap-free seq from 1, ts), appends each as one JSON line to
 * DATA_DIR/runs/<runId>/events.jsonl and hands it to listeners. Appends are synchronous, so the order on
 * disk is the seq order and a replay read from the file is never behind what was broadcast.
 */
export class EventLog {
  private readonly lastSeq = new Map<string, number>();
  /** Runs whose run.finished is written: later events are dropped so a run has exactly one ending. */
  private readonly sealed = new Set<string>();
  private readonly listeners = new Set<Listener>();
  /** Final events that could not be written (appendUnwritten): served from memory by read(). */
  private readonly unwritten = new Map<string, RunEvent[]>();
  private readonly appendLine: (file: string, line: string) => void;

  constructor(
    private readonly runsDir: string,
    options: EventLogOptions = {},
  ) {
    mkdirSync(runsDir, { recursive: true });
    this.appendLine = options.appendLine ?? ((file, line) => appendFileSync(file, line));
  }

  runDir(runId: string): string {
    if (!RUN_ID_PATTERN.test(runId)) throw new Error(`invalid run id "${runId}"`);
    return path.join(this.runsDir, runId);
  }

  private file(runId: string): string {
    return path.join(this.runDir(runId), 'events.jsonl');
  }

  /** True when this run has events or a directory (from this process or an earlier one). */
  has(runId: string): boolean {
    return (this.lastSeq.get(runId) ?? 0) > 0 || existsSync(this.runDir(runId));
  }

  isFinished(runId: string): boolean {
    this.load(runId);
    return this.sealed.has(runId);
  }

  /**
   * Cluster mode: the run's numbering continues from `lastSeq` (the seq Redis holds: an earlier attempt on another
   * runner, or a web server's write). A local log of an earlier attempt on this machine is set aside first.
   */
  continueRun(runId: string, lastSeq: number): void {
    const file = this.file(runId);
    if (existsSync(file)) renameSync(file, path.join(this.runDir(runId), `events-before-${Date.now()}.jsonl`));
    this.sealed.delete(runId);
    this.unwritten.delete(runId);
    this.lastSeq.set(runId, lastSeq);
  }

  onEvent(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Stamps, persists and broadcasts one event. Returns it, or null when the run has already finished.
   * Throws when the line cannot be written (disk full): then nothing is stamped or sent.
   */
  append(runId: string, body: RunEventBody): RunEvent | null {
    if (this.isFinished(runId)) return null;
    const event = this.stamp(runId, body);
    mkdirSync(this.runDir(runId), { recursive: true });
    this.appendLine(this.file(runId), `${JSON.stringify(event)}\n`);
    this.publish(event);
    return event;
  }

  /**
   * A run's last event when its log cannot be written: stamped, sent and kept in memory (read()
   * returns it until the process exits), so the web server still learns how and why the run ended.
   */
  appendUnwritten(runId: string, body: Extract<RunEventBody, { type: 'run.finished' }>): RunEvent | null {
    if (this.isFinished(runId)) return null;
    const event = this.stamp(runId, body);
    this.unwritten.set(runId, [...(this.unwritten.get(runId) ?? []), event]);
    this.publish(event);
    return event;
  }

  private stamp(runId: string, body: RunEventBody): RunEvent {
    return { ...body, runId, seq: this.currentSeq(runId) + 1, ts: Date.now() } as RunEvent;
  }

  private publish(event: RunEvent): void {
    const { runId, seq } = event;
    this.lastSeq.set(runId, seq);
    if (event.type === 'run.finished') this.sealed.add(runId);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        console.error(`[runner] event listener failed for run ${runId}:`, err);
      }
    }
  }

  /** Highest seq written for the run (0 when none). Reads the file once for runs of an earlier process. */
  currentSeq(runId: string): number {
    return this.load(runId);
  }

  /** Learns a run's last seq and whether it finished, from disk the first time, from memory after. */
  private load(runId: string): number {
    const known = this.lastSeq.get(runId);
    if (known !== undefined) return known;
    const events = this.read(runId, 0);
    const last = events[events.length - 1];
    if (last?.type === 'run.finished') this.sealed.add(runId);
    const seq = last?.seq ?? 0;
    this.lastSeq.set(runId, seq);
    return seq;
  }

  /** Events with seq > since, in order, read from disk (then any kept unwritten). A torn line (crash mid-write) is skipped. */
  read(runId: string, since: number): RunEvent[] {
    const file = this.file(runId);
    const kept = (this.unwritten.get(runId) ?? []).filter((e) => e.seq > since);
    if (!existsSync(file)) return kept;
    const events: RunEvent[] = [];
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        const event = JSON.parse(line) as RunEvent;
        if (event.seq > since) events.push(event);
      } catch {
        // a partial line from a crash; everything before it is intact
      }
    }
    return kept.length ? [...events, ...kept] : events;
  }

  /** Runs whose log was written at or after `sinceMs` (used to resume an all-runs subscription). */
  runsActiveSince(sinceMs: number): string[] {
    const ids: string[] = [];
    for (const entry of readdirSync(this.runsDir, { withFileTypes: true })) {
      if (!entry.isDirectory() || !RUN_ID_PATTERN.test(entry.name)) continue;
      const file = path.join(this.runsDir, entry.name, 'events.jsonl');
      try {
        if (statSync(file).mtimeMs >= sinceMs) ids.push(entry.name);
      } catch {
        // no events yet
      }
    }
    return ids;
  }
}
