'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { type FormEvent, useState } from 'react';
import { NEEDS_ENGINEER, useMe } from '../../src/client/auth.ts';
import { type RouterOutputs, useTRPC } from '../../src/client/trpc.ts';
import { RenameProductLine } from '../../src/editor/productLines/RenameProductLine.tsx';

type ProductLine = RouterOutputs['productLines']['list'][number];

/** /product-lines: every product line, create a new one, rename in place. */
export default function ProductLinesPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const lines = useQuery(trpc.productLines.list.queryOptions());
  const templates = useQuery(trpc.templates.list.queryOptions());
  const pipelines = useQuery(trpc.pipelines.list.queryOptions());
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const { canEdit } = useMe();
  const create = useMutation(
    trpc.productLines.create.mutationOptions({
      onSuccess: () => {
        setName('');
        setDescription('');
        void queryClient.invalidateQueries({ queryKey: trpc.productLines.list.queryKey() });
      },
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (name.trim()) create.mutate({ name: name.trim(), description: description.trim() || undefined });
  };
  const count = (rows: { productLineId: string }[] | undefined, id: string) => rows?.filter((r) => r.productLineId === id).length ?? 0;

  return (
    <div className="df-page">
      <div className="df-page-head">
        <h1>Product lines</h1>
      </div>
      <form className="df-panel df-row" onSubmit={submit} aria-label="New product line" style={{ marginBottom: 16 }}>
        <input
          className="df-input"
          style={{ maxWidth: 260 }}
          placeholder="New product line name"
          aria-label="Product line name"
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
        <input
          className="df-input"
          placeholder="Description (optional)"
          aria-label="Product line description"
          value={description}
          onChange={(e) => setDescription(e.target.value)}
        />
        <button
          className="df-btn df-btn-primary"
          type="submit"
          disabled={!name.trim() || create.isPending || !canEdit}
          title={canEdit ? undefined : NEEDS_ENGINEER}
        >
          Create
        </button>
        {create.error ? <span className="df-error df-small">{create.error.message}</span> : null}
      </form>
      {lines.error ? <div className="df-alert df-alert-error">{lines.error.message}</div> : null}
      {lines.data && lines.data.length === 0 ? <div className="df-empty">No product lines yet: create the first one above.</div> : null}
      {lines.data && lines.data.length > 0 ? (
        <table className="df-table df-panel" style={{ padding: 0 }}>
          <thead>
            <tr>
              <th>Name</th>
              <th>Description</th>
              <th className="df-num">Templates</th>
              <th className="df-num">Pipelines</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {lines.data.map((line: ProductLine) => (
              <tr key={line.id} data-testid="product-line-row">
                <td>
                  <RenameProductLine line={line}>
                    <Link href={`/product-lines/${encodeURIComponent(line.id)}`}>{line.name}</Link>
                  </RenameProductLine>
                </td>
                <td className="df-muted">{line.description}</td>
                <td className="df-num">{count(templates.data, line.id)}</td>
                <td className="df-num">{count(pipelines.data, line.id)}</td>
                <td style={{ textAlign: 'right' }}>
                  <Link className="df-btn df-btn-sm" href={`/editor?productLine=${encodeURIComponent(line.id)}`}>
                    New pipeline
                  </Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
