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
  /** Sentence without the node name, e.g. `"epochs" is 0. Allowed: an integer from 1 to 500.` */
  text: string;
}

/** Turns a zod error on a node's params into one problem per field, each naming the allowed values. */
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
    const allowed = describeAllowed(typeof top === 'string' && shape ? shape[top] : undefined);
    const value = valueAt(params, issue.path);
    const tail = allowed && issue.path.length === 1 && issue.code !== 'custom' ? ` Allowed: ${allowed}.` : '';
    let problem: string;
    switch (issue.code) {
      case 'too_small':
      case 'too_big':
      case 'invalid_value':
        problem = `is ${formatValue(value)}`;
        break;
      case 'invalid_type':
        problem = `must be ${issue.expected === 'int' ? 'an integer' : `a ${issue.expected}`}, got ${formatValue(value)}`;
        break;
      case 'invalid_format':
      case 'custom':
        problem = value === undefined ? issue.message : `${issue.message} (got ${formatValue(value)})`;
        break;
      default:
        problem = `is invalid: ${issue.message}`;
    }
    problems.push({ field, text: `"${field || 'params'}" ${problem}.${tail}` });
  }
  return problems;
}
