import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { AuthGate } from '../src/auth/AuthGate.tsx';
import { Providers } from '../src/client/Providers.tsx';
import { Nav } from '../src/components/Nav.tsx';
import './globals.css';

export const metadata: Metadata = {
  title: 'defectflow',
  description: 'Visual pipelines for training defect-detection classifiers by transfer learning',
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <Providers>
          <Nav />
          <main className="df-main">
            <AuthGate>{children}</AuthGate>
          </main>
        </Providers>
      </body>
    </html>
  );
}
