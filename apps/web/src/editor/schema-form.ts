import type { SerializedNodeDefinition } from '@defectflow/nodes';

/** The subset of a JSON Schema property the inspector understands (what z.toJSONSchema emits for our params). */
export interface ParamSchema {
  type?: string | string[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  default?: unknown;
  description?: string;
  title?: string;
  /** Show the field only when each named param has one of the listed values. */
  showWhen?: Record<string, unknown[]>;
  items?: ParamSchema;
  anyOf?: ParamSchema[];
}

export type FieldKind = 'enum' | 'boolean' | 'integer' | 'number' | 'string' | 'json';

export interface ParamField {
  name: string;
  title: string;
  help: string;
  kind: FieldKind;
  schema: ParamSchema;
  defaultValue: unknown;
}

/** Fields of a node type's param form, in definition order. */
export function paramFields(def: SerializedNodeDefinition): ParamField[] {
  const properties = (def.params as { properties?: Record<string, ParamSchema> }).properties ?? {};
  return Object.entries(properties).map(([name, schema]) => ({
    name,
    title: schema.title ?? name,
    help: schema.description ?? '',
    kind: fieldKind(schema),
    schema,
    defaultValue: def.defaults[name] ?? schema.default,
  }));
}

function fieldKind(schema: ParamSchema): FieldKind {
  if (Array.isArray(schema.enum)) return 'enum';
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (type === 'boolean' || type === 'integer' || type === 'number' || type === 'string') return type;
  return 'json';
}

/** Whether a field applies given the node's current params (its `showWhen` conditions). */
export function isFieldVisible(field: ParamField, values: Record<string, unknown>): boolean {
  const when = field.schema.showWhen;
  if (!when) return true;
  return Object.entries(when).every(([other, allowed]) => allowed.includes(values[other]));
}

/** The value a field shows: the node's own, else the definition default. */
export function fieldValue(field: ParamField, params: Record<string, unknown>): unknown {
  return field.name in params ? params[field.name] : field.defaultValue;
}

/** Spinner step for a number field: 1 for integers, about a tenth of the default's magnitude for floats. */
export function numberStep(field: ParamField): number | 'any' {
  if (field.kind === 'integer') return 1;
  const magnitude = Math.abs(typeof field.defaultValue === 'number' ? field.defaultValue : 0);
  if (magnitude > 0) return 10 ** (Math.floor(Math.log10(magnitude)) - 1);
  const { minimum, maximum } = field.schema;
  if (minimum !== undefined && maximum !== undefined && maximum > minimum) return (maximum - minimum) / 100;
  return 'any';
}

/** Compact display of a param value on the canvas. */
export function formatValue(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (typeof value === 'string') return value === '' ? '—' : value;
  if (value === null || value === undefined) return '—';
  return JSON.stringify(value);
}

/**
 * One line of key params for the node card: fields the user changed from the defaults first,
 * then the first fields of the form, skipping those hidden by `showWhen`.
 */
export function paramSummary(def: SerializedNodeDefinition, params: Record<string, unknown>, max = 3): string {
  const fields = paramFields(def).filter((f) => isFieldVisible(f, { ...def.defaults, ...params }));
  const changed = fields.filter((f) => JSON.stringify(fieldValue(f, params)) !== JSON.stringify(f.defaultValue));
  const rest = fields.filter((f) => !changed.includes(f));
  return [...changed, ...rest]
    .slice(0, max)
    .map((f) => `${f.title.toLowerCase()} ${formatValue(fieldValue(f, params))}`)
    .join(' · ');
}
