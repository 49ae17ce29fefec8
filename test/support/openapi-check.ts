/**
 * The response check: a native answer against the committed OpenAPI document (docs/openapi.json) — its status is
 * one the operation declares, its body valid against that status's schema (JSON Schema 2020-12, ajv), its
 * required headers present. The compat families' answers, and requests no route matches, are not checked.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import document from '../../docs/openapi.json' with { type: 'json' };
import { isCompat, matchRoute } from '../../functions/http/routes.js';

type Json = Record<string, any>;
const doc = document as Json;
const DOC_ID = 'maintctl-openapi.json';

// strict off: the document's other members (openapi, info, paths) are not JSON Schema keywords.
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(doc, DOC_ID);
const compiled = new Map<string, ValidateFunction>();

const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

/** The validator of the schema at a JSON pointer into the document, compiled once. */
function validatorAt(...parts: string[]): ValidateFunction {
  const ref = `${DOC_ID}#/${pointer(...parts)}`;
  const known = compiled.get(ref);
  if (known) return known;
  const validate = ajv.compile({ $ref: ref });
  compiled.set(ref, validate);
  return validate;
}

const JSON_SCHEMA = ['content', 'application/json', 'schema'];

export interface CheckedResponse {
  method: string;
  /** The request URL (its path and query). */
  url: string;
  status: number;
  headers: Headers;
  body: string;
}

/** What is wrong with a native answer (nothing: []); undefined for any other answer (compat, no route). */
export function responseProblems({ method, url, status, headers, body }: CheckedResponse): string[] | undefined {
  const { pathname } = new URL(url, 'http://localhost');
  const match = matchRoute(method, pathname);
  if (match.kind !== 'found' || isCompat(match.route.family)) return undefined;
  const where = `${method} ${pathname} → ${status}`;
  const operation = doc.paths[match.route.path]?.[method.toLowerCase()] as Json | undefined;
  if (!operation) return [`${where}: the document has no operation ${method} ${match.route.path}`];
  let response = operation.responses[String(status)] as Json | undefined;
  if (!response) return [`${where}: status ${status} is not documented for ${method} ${match.route.path}: ${body}`];
  let validate: (() => ValidateFunction) | undefined;
  if (typeof response.$ref === 'string') {
    const name = response.$ref.split('/').at(-1)!;
    response = doc.components.responses[name] as Json;
    validate = () => validatorAt('components', 'responses', name, ...JSON_SCHEMA);
  } else {
    validate = () =>
      validatorAt('paths', match.route.path, method.toLowerCase(), 'responses', String(status), ...JSON_SCHEMA);
  }

  const problems: string[] = [];
  for (const [name, spec] of Object.entries((response.headers ?? {}) as Json)) {
    const required = spec.$ref ? doc.components.headers[spec.$ref.split('/').at(-1)].required : spec.required;
    if (required && !headers.has(name)) problems.push(`${where}: the ${name} header is missing`);
  }
  if (!response.content) {
    if (body !== '') problems.push(`${where}: a body where the document declares none: ${body}`);
    return problems;
  }
  if (!/^application\/json\b/.test(headers.get('content-type') ?? ''))
    return [...problems, `${where}: content-type ${headers.get('content-type')}, not application/json`];
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return [...problems, `${where}: the body is not JSON: ${body.slice(0, 200)}`];
  }
  const check = validate();
  if (!check(value)) {
    const errors = check.errors!.map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
    problems.push(
      `${where}: the body does not match the document: ${errors.join('; ')}\n  body: ${body.slice(0, 2000)}`,
    );
  }
  return problems;
}
