import type { RunEventBody } from '@defectflow/nodes';

/** Turns run events into a one-line progress display on stderr (a log of lines when stderr is not a TTY). */
export function createProgressReporter(stream: NodeJS.WriteStream = process.stderr): (event: RunEventBody) => void {
  const tty = Boolean(stream.isTTY);
  let current = '';
  const write = (line: string, final = false) => {
    if (tty) {
      stream.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
    } else if (final || line !== current) {
      stream.write(`${line}\n`);
    }
    current = line;
  };
  const bar = (done: number, total: number) => {
    const width = 24;
    const filled = total > 0 ? Math.round((Math.min(done, total) / total) * width) : 0;
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
  };
  const eta = (ms?: number) => (ms !== undefined && Number.isFinite(ms) ? ` eta ${Math.ceil(ms / 1000)}s` : '');

  return (event) => {
    switch (event.type) {
      case 'run.started':
        write(`backend: ${event.backend} (${event.device})`, true);
        break;
      case 'node.cached':
        write(`${event.nodeId} (${event.nodeType}): reused from cache`, true);
        break;
      case 'node.progress':
        if (tty || event.done === event.total) write(`${event.nodeId} ${event.phase} ${bar(event.done, event.total)}${eta(event.etaMs)}`);
        break;
      case 'train.epoch': {
        const val = event.valAcc === null ? '' : ` val_loss ${event.valLoss?.toFixed(4)} val_acc ${event.valAcc.toFixed(3)}`;
        write(
          `${event.nodeId} epoch ${bar(event.epoch, event.epochs)} loss ${event.loss.toFixed(4)} acc ${event.acc.toFixed(3)}${val}${eta(event.etaMs)}`,
          !tty,
        );
        break;
      }
      case 'node.log':
        if (event.level === 'warn' || event.level === 'error') write(`${event.level}: ${event.nodeId ? `${event.nodeId}: ` : ''}${event.message}`, true);
        break;
      case 'node.finished':
        write(`${event.nodeId} (${event.nodeType}) done in ${(event.durationMs / 1000).toFixed(1)}s`, true);
        break;
      case 'node.failed':
        write(`${event.nodeId} (${event.nodeType}) FAILED [${event.code}]: ${event.message}`, true);
        break;
      case 'run.finished':
        write(`run ${event.status} in ${(event.durationMs / 1000).toFixed(1)}s`, true);
        break;
      default:
        break;
    }
  };
}
