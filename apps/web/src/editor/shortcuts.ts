'use client';

import { useEffect, useRef } from 'react';

export interface ShortcutHandlers {
  undo: () => void;
  redo: () => void;
  copy: () => void;
  paste: () => void;
  duplicate: () => void;
  remove: () => void;
  selectAll: () => void;
  save: () => void;
  toggleHelp: () => void;
}

/** Shown in the help overlay; the handler below is the one source of truth for what each key does. */
export const SHORTCUTS: ReadonlyArray<{ keys: string; action: string }> = [
  { keys: 'Ctrl/⌘ Z', action: 'Undo' },
  { keys: 'Ctrl/⌘ Shift Z · Ctrl Y', action: 'Redo' },
  { keys: 'Ctrl/⌘ C', action: 'Copy selected nodes' },
  { keys: 'Ctrl/⌘ V', action: 'Paste' },
  { keys: 'Ctrl/⌘ D', action: 'Duplicate selected nodes' },
  { keys: 'Delete · Backspace', action: 'Delete selection' },
  { keys: 'Ctrl/⌘ A', action: 'Select all' },
  { keys: 'Ctrl/⌘ S', action: 'Save pipeline' },
  { keys: 'Shift + drag', action: 'Box-select' },
  { keys: '?', action: 'Show / hide this help' },
];

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  const type = (target as HTMLInputElement).type;
  return !['checkbox', 'radio', 'button', 'submit', 'range', 'color', 'file'].includes(type);
}

/** Editor keyboard shortcuts on the window; ignored while the user types in a field (except Ctrl+S). */
export function useEditorShortcuts(handlers: ShortcutHandlers, enabled = true) {
  const ref = useRef(handlers);
  ref.current = handlers;
  useEffect(() => {
    if (!enabled) return;
    const onKeyDown = (e: KeyboardEvent) => {
      const h = ref.current;
      const mod = e.ctrlKey || e.metaKey;
      const key = e.key.toLowerCase();
      if (mod && key === 's') {
        e.preventDefault();
        h.save();
        return;
      }
      if (isTyping(e.target) || e.defaultPrevented) return;
      if (e.key === '?') {
        e.preventDefault();
        h.toggleHelp();
        return;
      }
      // A dialog is open: leave the other keys to it.
      if (document.querySelector('.dfe-modal-backdrop')) return;
      if (mod && !e.altKey) {
        if (key === 'z' && e.shiftKey) h.redo();
        else if (key === 'z') h.undo();
        else if (key === 'y') h.redo();
        else if (key === 'c') h.copy();
        else if (key === 'v') h.paste();
        else if (key === 'd') h.duplicate();
        else if (key === 'a') h.selectAll();
        else return;
        e.preventDefault();
        return;
      }
      if (e.key === 'Delete' || e.key === 'Backspace') {
        e.preventDefault();
        h.remove();
      }
    };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, [enabled]);
}
