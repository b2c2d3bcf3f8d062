'use client';

import { useEffect, useState } from 'react';
import { numberStep, type ParamField } from './schema-form.ts';

export interface ParamInputProps {
  field: ParamField;
  value: unknown;
  invalid: boolean;
  /** Called for every change; `coalesce` groups the changes of one field focus into one undo step. */
  onChange: (value: unknown, coalesce: boolean) => void;
  onFocus: () => void;
  id: string;
}

/** One form control chosen from the field's JSON Schema: select, toggle, number, text or JSON. */
export function ParamInput({ field, value, invalid, onChange, onFocus, id }: ParamInputProps) {
  const common = { id, onFocus, 'aria-invalid': invalid || undefined, 'data-field': field.name };
  switch (field.kind) {
    case 'enum':
      return (
        <select {...common} className="dfe-input" value={String(value)} onChange={(e) => onChange(enumValue(field, e.target.value), false)}>
          {(field.schema.enum ?? []).map((option) => (
            <option key={String(option)} value={String(option)}>
              {String(option)}
            </option>
          ))}
        </select>
      );
    case 'boolean':
      return (
        <label className="dfe-toggle">
          <input {...common} type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked, false)} />
          <span className="dfe-toggle-track" aria-hidden />
          <span className="dfe-toggle-text">{value === true ? 'On' : 'Off'}</span>
        </label>
      );
    case 'integer':
    case 'number':
      return <NumberInput {...common} field={field} value={value} onChange={(v) => onChange(v, true)} />;
    case 'string':
      return (
        <input
          {...common}
          className="dfe-input"
          type="text"
          value={typeof value === 'string' ? value : ''}
          onChange={(e) => onChange(e.target.value, true)}
        />
      );
    default:
      return <JsonInput {...common} value={value} onChange={(v) => onChange(v, true)} />;
  }
}

function enumValue(field: ParamField, text: string): unknown {
  return (field.schema.enum ?? []).find((o) => String(o) === text) ?? text;
}

/** Huge bounds (like Number.MAX_SAFE_INTEGER) are not worth showing. */
function shownBound(n: number | undefined): number | undefined {
  return n !== undefined && Math.abs(n) < 1e12 ? n : undefined;
}

function NumberInput({
  field,
  value,
  onChange,
  ...rest
}: {
  field: ParamField;
  value: unknown;
  onChange: (v: unknown) => void;
  id: string;
  onFocus: () => void;
}) {
  const [text, setText] = useState(() => (typeof value === 'number' ? String(value) : ''));
  // Follow outside changes (undo, import) without clobbering what the user is typing.
  useEffect(() => {
    setText((current) => (Number(current) === value && current.trim() !== '' ? current : typeof value === 'number' ? String(value) : ''));
  }, [value]);
  const min = shownBound(field.schema.minimum);
  const max = shownBound(field.schema.maximum);
  return (
    <input
      {...rest}
      className="dfe-input dfe-input-num"
      type="number"
      inputMode="decimal"
      min={min}
      max={max}
      step={numberStep(field)}
      value={text}
      onChange={(e) => {
        const next = e.target.value;
        setText(next);
        // An emptied box is null so validation says the value is missing (defaults would hide that).
        if (next.trim() === '') onChange(null);
        else if (Number.isFinite(Number(next))) onChange(Number(next));
      }}
    />
  );
}

function JsonInput({
  value,
  onChange,
  ...rest
}: {
  value: unknown;
  onChange: (v: unknown) => void;
  id: string;
  onFocus: () => void;
}) {
  const [text, setText] = useState(() => JSON.stringify(value ?? null));
  const [bad, setBad] = useState(false);
  return (
    <textarea
      {...rest}
      className="dfe-input dfe-input-json"
      rows={2}
      value={text}
      aria-invalid={bad || undefined}
      onChange={(e) => {
        setText(e.target.value);
        try {
          onChange(JSON.parse(e.target.value));
          setBad(false);
        } catch {
          setBad(true);
        }
      }}
    />
  );
}
