'use client';

import { Suspense } from 'react';
import { Editor } from '../../src/editor/Editor.tsx';

/** /editor?pipeline=<id> | ?template=<id>&version=<id> | (new, optionally ?productLine=<id>). */
export default function EditorPage() {
  return (
    <Suspense fallback={<div className="dfe-fatal">Loading editor…</div>}>
      <Editor />
    </Suspense>
  );
}
