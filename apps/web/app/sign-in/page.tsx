'use client';

import { Suspense } from 'react';
import { SignIn } from '../../src/auth/SignIn.tsx';

/** /sign-in?next=/path (reads the query string, hence the Suspense boundary). */
export default function SignInPage() {
  return (
    <Suspense fallback={<div className="df-page df-muted">Loading…</div>}>
      <SignIn />
    </Suspense>
  );
}
