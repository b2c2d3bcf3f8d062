/**
 * A full disk under DATA_DIR: a small tmpfs mounted as DATA_DIR (root can mount; CI runs as root), filled
 * with a filler file when the fault is injected and emptied again when it is "freed". Where mounting is not
 * allowed (EPERM), the fallback caps the file size the runner process may write (RLIMIT_FSIZE via prlimit):
 * Node ignores SIGXFSZ, so writes past the cap fail with EFBIG, the way they fail with ENOSPC on a full disk.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallDisk {
  /** The folder to use as DATA_DIR. */
  dir: string;
  mode: 'tmpfs' | 'rlimit';
  /** Fills the disk (tmpfs) or caps the runner's file size (rlimit; needs its pid). Returns bytes left free. */
  fill(runnerPid: number): number;
  /** Frees the space again (removes the filler / lifts the cap). */
  free(runnerPid: number): void;
  dispose(): void;
}

function tryMount(dir: string, sizeMiB: number): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir], { stdio: 'pipe' });
    return true;
  } catch (err) {
    const text = String((err as { stderr?: Buffer }).stderr ?? err);
    if (/permission denied|EPERM|only root|must be superuser|Operation not permitted/i.test(text)) return false;
    throw new Error(`mount -t tmpfs failed: ${text}`);
  }
}

/** Writes zeros until the filesystem says ENOSPC; returns the bytes written. */
function fillUp(file: string): number {
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(256 * 1024);
  let written = 0;
  try {
    for (;;) {
      try {
        written += writeSync(fd, block);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        // Top off with small writes so not even a page is left.
        for (;;) {
          try {
            written += writeSync(fd, block.subarray(0, 512));
          } catch {
            return written;
          }
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** SMALL_DISK=rlimit forces the fallback (to check it on a machine that can mount). */
export function createSmallDisk(sizeMiB: number): SmallDisk {
  const dir = mkdtempSync(join(tmpdir(), 'defectflow-smalldisk-'));
  const filler = join(dir, 'filler.bin');
  if (process.env.SMALL_DISK !== 'rlimit' && tryMount(dir, sizeMiB)) {
    return {
      dir,
      mode: 'tmpfs',
      fill: () => fillUp(filler),
      free: () => unlinkSync(filler),
      dispose() {
        try {
          execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  }
  const prlimit = (pid: number, value: string) => execFileSync('prlimit', ['--pid', String(pid), `--fsize=${value}`], { stdio: 'pipe' });
  return {
    dir,
    mode: 'rlimit',
    // A few KiB: events.jsonl and every cache or export file of the run outgrow it at once.
    fill: (pid) => {
      prlimit(pid, '4096:unlimited');
      return 0;
    },
    free: (pid) => {
      try {
        prlimit(pid, 'unlimited:unlimited');
      } catch {
        // the runner was restarted: the new process has no cap
      }
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
