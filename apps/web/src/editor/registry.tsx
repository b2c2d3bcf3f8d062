'use client';

import type { SerializedNodeDefinition } from '@defectflow/nodes';
import { useQuery } from '@tanstack/react-query';
import { createContext, type ReactNode, useContext, useMemo } from 'react';
import { useTRPC } from '../client/trpc.ts';

export interface Registry {
  definitions: SerializedNodeDefinition[];
  byType: Map<string, SerializedNodeDefinition>;
}

const RegistryContext = createContext<Registry>({ definitions: [], byType: new Map() });

/** The node catalogue, fetched once from `nodes.registry`: palette, node cards and forms are all drawn from it. */
export function useRegistryQuery() {
  const trpc = useTRPC();
  const query = useQuery({ ...trpc.nodes.registry.queryOptions(), staleTime: Number.POSITIVE_INFINITY });
  const registry = useMemo<Registry>(() => {
    const definitions = (query.data ?? []) as SerializedNodeDefinition[];
    return { definitions, byType: new Map(definitions.map((d) => [d.type, d])) };
  }, [query.data]);
  return { registry, isLoading: query.isLoading, error: query.error };
}

export function RegistryProvider({ registry, children }: { registry: Registry; children: ReactNode }) {
  return <RegistryContext.Provider value={registry}>{children}</RegistryContext.Provider>;
}

export function useRegistry(): Registry {
  return useContext(RegistryContext);
}

export const CATEGORY_COLORS: Record<string, string> = {
  Data: '#2f9e44',
  Model: '#1971c2',
  Training: '#e8590c',
  Output: '#495057',
};
