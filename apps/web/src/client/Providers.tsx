'use client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { createBrowserTRPCClient, isAccessError, TRPCProvider } from './trpc.ts';

/** React Query + tRPC for every page (mounted once in app/layout.tsx). */
export function Providers({ children }: { children: ReactNode }) {
  const [queryClient] = useState(
    () =>
      new QueryClient({
        defaultOptions: {
          // One retry for a flaky network; none when the server refused who we are (the tRPC link handles sign-in).
          queries: { staleTime: 5_000, refetchOnWindowFocus: false, retry: (failures, err) => failures < 1 && !isAccessError(err) },
        },
      }),
  );
  const [trpcClient] = useState(createBrowserTRPCClient);
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
