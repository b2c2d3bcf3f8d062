'use client';
/**
 * The backbone node form's pick lists: the ONNX backbones of the library for `onnxFile`, and once one is
 * picked, its cut points with their shapes for `onnxCut` (backbones.cutPoints).
 */
import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '../client/trpc.ts';

const style = { width: 'auto', maxWidth: 180 } as const;

export function BackboneFileSelect({ value, onPick }: { value: string; onPick: (name: string) => void }) {
  const trpc = useTRPC();
  const list = useQuery(trpc.backbones.list.queryOptions());
  const backbones = (list.data ?? []).filter((b) => !b.error);
  return (
    <select className="dfe-input" aria-label="Imported backbones" data-testid="backbone-file-select" value={backbones.some((b) => b.name === value) ? value : ''} onChange={(e) => e.target.value && onPick(e.target.value)} style={style}>
      <option value="">Library…</option>
      {backbones.map((b) => (
        <option key={b.name} value={b.name}>
          {b.name}
        </option>
      ))}
    </select>
  );
}

export function CutPointSelect({ file, value, onPick }: { file: string; value: string; onPick: (cut: string) => void }) {
  const trpc = useTRPC();
  const points = useQuery({ ...trpc.backbones.cutPoints.queryOptions({ name: file }), enabled: file.endsWith('.onnx') });
  const list = points.data ?? [];
  return (
    <select className="dfe-input" aria-label="Cut points" data-testid="cut-point-select" value={list.some((p) => p.name === value) ? value : ''} onChange={(e) => onPick(e.target.value)} style={style} disabled={!list.length}>
      <option value="">{points.isLoading ? 'Reading…' : list.length ? 'Cut points…' : 'Pick a file first'}</option>
      {list.map((p) => (
        <option key={p.name} value={p.name}>
          {p.label}
        </option>
      ))}
    </select>
  );
}
