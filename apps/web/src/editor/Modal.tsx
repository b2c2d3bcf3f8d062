'use client';

import { type ReactNode, useEffect } from 'react';
import './editor.css';

/** A plain dialog over a dimmed backdrop; Escape or the backdrop closes it. */
export function Modal({
  title,
  onClose,
  children,
  testId,
  wide,
  xwide,
}: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  testId?: string;
  wide?: boolean;
  /** Two columns of form (the sweep dialog). */
  xwide?: boolean;
}) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: clicking the backdrop closes (Escape does too, for keyboards)
    <div className="dfe-modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className={`dfe-modal ${wide ? 'is-wide' : ''} ${xwide ? 'is-xwide' : ''}`} role="dialog" aria-modal="true" aria-label={title} data-testid={testId}>
        <div className="dfe-modal-head">
          <span>{title}</span>
          <button type="button" className="dfe-icon-btn" onClick={onClose} aria-label="Close">
            ×
          </button>
        </div>
        <div className="dfe-modal-body">{children}</div>
      </div>
    </div>
  );
}
