import { z } from 'zod';

/** Numbers in messages: 0.00001 rather than 1e-5. */
export function formatNumber(n: number): string {
  if (n !== 0 && Math.abs(n) < 1e-3) return n.toFixed(Math.ceil(-Math.log10(Math.abs(n))) + 1).replace(/0+$/, '');
  return String(n);
}

function formatValue(value: unknown): string {
  if (typeof value === 'number') return formatNumber(value);
  if (value === undefined) return 'missing';
  const json = JSON.stringify(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let s = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodPrefault) {
    s = s.unwrap() as z.core.$ZodType;
  }
  return s;
}

/** A bound zod reports for an unbounded int (Number.MAX_SAFE_INTEGER) is not worth telling a user. */
function isRealBound(n: number | null | undefined): n is number {
  return typeof n === 'number' && Number.isFinite(n) && Math.abs(n) < Number.MAX_SAFE_INTEGER;
}

/** "an integer from 1 to 512", "one of adam, sgd", … — what a field accepts, for error messages. */
export function describeAllowed(field: z.core.$ZodType | undefined): string | undefined {
  if (!field) return undefined;
  const s = unwrap(field);
  if (s instanceof z.ZodNumber) {
    const kind = s.isInt ? 'an integer' : 'a number';
    const min = isRealBound(s.minValue) ? formatNumber(s.minValue) : undefined;
    const max = isRealBound(s.maxValue) ? formatNumber(s.maxValue) : undefined;
    if (min !== undefined && max !== undefined) return `${kind} from ${min} to ${max}`;
    if (min !== undefined) return `${kind} of at least ${min}`;
    if (max !== undefined) return `${kind} of at most ${max}`;
    return kind;
  }
  if (s instanceof z.ZodEnum) return `one of ${s.options.map((o) => JSON.stringify(o)).join(', ')}`;
  if (s instanceof z.ZodBoolean) return 'true or false';
  if (s instanceof z.ZodString) {
    const min = s.minLength ?? 0;
    const max = s.maxLength;
    if (max !== null && max !== undefined) return `text of ${min} to ${max} characters`;
    return min > 0 ? 'non-empty text' : 'text';
  }
  return undefined;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

export interface ParamProblem {
  field: string;
  /** Sentence without the node name, e.g. `"epochs" must be at most 500 (it is 1000).` */
  text: string;
}

type Issue = z.core.$ZodIssue;

/** "must be at most 512 (it is 1000)", "must not be empty", "is required (an integer from 1 to 500)": the rule, then the value. */
function problemText(issue: Issue, value: unknown, allowed: string | undefined): string {
  const it = ` (it is ${formatValue(value)})`;
  switch (issue.code) {
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'string') return `must be at most ${max} characters long`;
      if (issue.origin === 'array' || issue.origin === 'set') return `must have at most ${max} items`;
      return `must be ${issue.inclusive === false ? 'less than' : 'at most'} ${formatNumber(max)}${it}`;
    }
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'string') return min <= 1 ? 'must not be empty' : `must be at least ${min} characters long`;
      if (issue.origin === 'array' || issue.origin === 'set') return `must have at least ${min} ${min === 1 ? 'item' : 'items'}`;
      return `must be ${issue.inclusive === false ? 'more than' : 'at least'} ${formatNumber(min)}${it}`;
    }
    case 'invalid_value':
      return `must be ${issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`}${it}`;
    case 'invalid_type': {
      if (value === undefined || value === null) return allowed ? `is required (${allowed})` : 'is required';
      if (issue.expected === 'int') return `must be a whole number${it}`;
      const article = /^[aeiou]/.test(issue.expected) ? 'an' : 'a';
      return `must be ${article} ${issue.expected}${allowed ? ` (${allowed})` : ''}, not ${formatValue(value)}`;
    }
    case 'invalid_format':
    case 'custom':
      return value === undefined ? issue.message : `${issue.message}${it}`;
    default:
      return `is invalid: ${issue.message}`;
  }
}

/** Turns a zod error on a node's params into one sentence per field: what the field must be, and what it is. */
export function describeParamIssues(schema: z.ZodType, params: unknown, error: z.ZodError): ParamProblem[] {
  const shape = schema instanceof z.ZodObject ? (schema.shape as Record<string, z.core.$ZodType>) : undefined;
  const problems: ParamProblem[] = [];
  const reported = new Set<string>();
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = shape ? Object.keys(shape).join(', ') : '';
      for (const key of issue.keys) {
        const field = [...issue.path, key].map(String).join('.');
        problems.push({ field, text: `has no parameter "${field}". Known parameters: ${known}.` });
      }
      continue;
    }
    const field = issue.path.map(String).join('.');
    // One message per field: an empty name fails both min length and the pattern; the first says enough.
    if (reported.has(field)) continue;
    reported.add(field);
    const top = issue.path[0];
    const allowed = issue.path.length === 1 ? describeAllowed(typeof top === 'string' && shape ? shape[top] : undefined) : undefined;
    problems.push({ field, text: `"${field || 'params'}" ${problemText(issue as Issue, valueAt(params, issue.path), allowed)}.` });
  }
  return problems;
}
