'use client';
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { UserMenu } from '../auth/UserMenu.tsx';
import { describeRunner, useRunnerStatus } from '../client/runner-status.ts';
import { isAuthPage } from '../client/sign-in-redirect.ts';

const LINKS = [
  { href: '/', label: 'Home' },
  { href: '/product-lines', label: 'Product lines' },
  { href: '/editor', label: 'Editor' },
  { href: '/runs', label: 'Runs' },
  { href: '/sweeps', label: 'Sweeps' },
  { href: '/models', label: 'Models' },
  { href: '/datasets', label: 'Datasets' },
  { href: '/backbones', label: 'Backbones' },
] as const;

export function RunnerBadge() {
  const status = useRunnerStatus();
  const noRunners = status?.mode === 'cluster' && (status.runners ?? []).length === 0;
  const state = !status ? 'unknown' : status.connected && !noRunners ? (status.busy ? 'busy' : 'ok') : 'down';
  const title = !status
    ? 'checking the runner…'
    : status.mode === 'cluster'
      ? // One line per runner: what it is and what it runs.
        (status.runners ?? [])
          .map((r) => `${r.runnerId} on ${r.host}: ${r.backend}, ${r.running.length}/${r.concurrency} running, ${(r.freeMemory / 1024 ** 3).toFixed(1)} GiB free`)
          .join('\n') || 'no runner has announced itself to the queue'
      : [status.url, status.device, status.currentRunId ? `running ${status.currentRunId}` : null].filter(Boolean).join(' · ');
  return (
    <span className={`df-runner-badge df-runner-${state}`} data-testid="runner-badge" title={title}>
      <span className="df-dot" aria-hidden="true" />
      {describeRunner(status)}
    </span>
  );
}

export function Nav() {
  const pathname = usePathname() ?? '/';
  // Signed out there: links and the runner status would only lead back to sign-in.
  if (isAuthPage(pathname)) {
    return (
      <header className="df-nav">
        <Link href="/" className="df-brand">
          defectflow
        </Link>
      </header>
    );
  }
  return (
    <header className="df-nav">
      <Link href="/" className="df-brand">
        defectflow
      </Link>
      <nav aria-label="Main">
        {LINKS.map((l) => {
          const active = l.href === '/' ? pathname === '/' : pathname.startsWith(l.href);
          return (
            <Link key={l.href} href={l.href} className={active ? 'df-nav-link df-active' : 'df-nav-link'}>
              {l.label}
            </Link>
          );
        })}
      </nav>
      <div className="df-nav-spacer" />
      <RunnerBadge />
      <UserMenu />
    </header>
  );
}
