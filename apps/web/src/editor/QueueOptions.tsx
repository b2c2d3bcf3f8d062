'use client';
/**
 * Cluster mode only (several runners behind a shared queue): how the next Run is queued — its priority, whether it
 * needs a GPU runner, and whether it runs once more if the runner holding it dies (otherwise it ends `interrupted`).
 * A small popover next to Run; the choice stays for the session's next runs.
 */
import { useRef, useState } from 'react';
import { create } from 'zustand';
import { useRunnerStatus } from '../client/runner-status.ts';
import { useDismiss } from './useDismiss.ts';

export interface QueueChoice {
  priority: 'high' | 'normal' | 'low';
  requiresGpu: boolean;
  retryOnLoss: boolean;
}

export const useQueueChoice = create<QueueChoice & { set(choice: Partial<QueueChoice>): void }>((set) => ({
  priority: 'normal',
  requiresGpu: false,
  retryOnLoss: false,
  set: (choice) => set(choice),
}));

/** What runs.start takes from the choice (nothing outside cluster mode: one runner has no shared queue). */
export function queueInput(choice: QueueChoice, cluster: boolean) {
  if (!cluster) return {};
  return {
    priority: choice.priority,
    ...(choice.requiresGpu ? { requires: ['gpu' as const] } : {}),
    ...(choice.retryOnLoss ? { retryOnLoss: true } : {}),
  };
}

export function QueueOptions() {
  const status = useRunnerStatus();
  const choice = useQueueChoice();
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLSpanElement>(null);
  useDismiss(open, () => setOpen(false), root);
  if (status?.mode !== 'cluster') return null;
  const gpuRunners = (status.runners ?? []).filter((r) => /gpu/i.test(r.device)).length;
  const summary = [choice.priority !== 'normal' ? `${choice.priority} priority` : null, choice.requiresGpu ? 'GPU' : null, choice.retryOnLoss ? 'retry' : null]
    .filter(Boolean)
    .join(' · ');
  return (
    <span className="dfe-queue-options" ref={root}>
      <button
        type="button"
        className="dfe-btn"
        data-testid="queue-options-button"
        aria-expanded={open}
        title="How the next run is queued on the shared runner queue"
        onClick={() => setOpen((o) => !o)}
      >
        Queue{summary ? `: ${summary}` : ''} ▾
      </button>
      {open ? (
        <div className="dfe-queue-popover" role="dialog" aria-label="Queue options" data-testid="queue-options">
          <label>
            Priority{' '}
            <select
              data-testid="queue-priority"
              value={choice.priority}
              onChange={(e) => choice.set({ priority: e.target.value as QueueChoice['priority'] })}
            >
              <option value="high">high — before normal runs</option>
              <option value="normal">normal</option>
              <option value="low">low — after normal runs</option>
            </select>
          </label>
          <label title={gpuRunners ? `${gpuRunners} GPU runner(s) connected` : 'No GPU runner is connected now: the run waits until one is'}>
            <input type="checkbox" data-testid="queue-gpu" checked={choice.requiresGpu} onChange={(e) => choice.set({ requiresGpu: e.target.checked })} />{' '}
            needs a GPU runner {gpuRunners ? `(${gpuRunners} connected)` : '(none connected now)'}
          </label>
          <label>
            <input type="checkbox" data-testid="queue-retry" checked={choice.retryOnLoss} onChange={(e) => choice.set({ retryOnLoss: e.target.checked })} />{' '}
            run it again once if its runner dies
          </label>
          <button type="button" className="dfe-btn" onClick={() => setOpen(false)}>
            Done
          </button>
        </div>
      ) : null}
    </span>
  );
}
