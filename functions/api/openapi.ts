/**
 * The native API's OpenAPI 3.1 document, generated from the route table (paths, methods, roles) and the contract
 * (`contract.ts`: the handlers' request schemas, `responses.ts`). zod writes JSON Schema 2020-12, OpenAPI 3.1's
 * dialect. `npm run openapi` writes it to `docs/openapi.json`, which `GET /v1/openapi.json` serves; the compat
 * families are described by their own tools' docs and by `docs/compat.md`.
 */
import * as z from '../zod.js';
import { CLUSTER_ID, DC_NAME, OBJECT_ID, SERVER_NAME } from '../domain/names.js';
import { isCompat, ROUTES, routeKey, type Route } from '../http/routes.js';
import { CONTRACT, REQUEST_BODIES, type Answer, type OperationContract } from './contract.js';
import * as R from './responses.js';

type Json = Record<string, unknown>;
type Schema = z.ZodMiniType;

const isSchema = (value: unknown): value is Schema => typeof value === 'object' && value !== null && '_zod' in value;

export const pascal = (name: string) => name[0]!.toUpperCase() + name.slice(1);

/** The response schemas by their component name: each export of `responses.ts`, capitalized. */
export const RESPONSE_SCHEMAS: ReadonlyMap<string, Schema> = new Map(
  Object.entries(R as Record<string, unknown>)
    .filter((entry): entry is [string, Schema] => isSchema(entry[1]))
    .map(([name, schema]) => [pascal(name), schema]),
);

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Every schema of `named` as a component; the ones they contain that are named too become references. */
function components(named: Iterable<[string, Schema]>, io: 'input' | 'output'): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of named) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { io, uri: (id) => `#/components/schemas/${id}` });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, { $schema: _s, $id: _i, ...schema }]) => [id, schema as Json]),
  );
}

const pathParameter = (name: string, pattern: RegExp, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string', pattern: pattern.source },
});

/** The parameters many operations take, each written once. */
const PARAMETERS: Record<string, Json> = {
  c: pathParameter('c', CLUSTER_ID, 'The cluster’s id'),
  s: pathParameter('s', SERVER_NAME, 'The server’s name'),
  dc: pathParameter('dc', DC_NAME, 'The dc’s name'),
  id: pathParameter('id', OBJECT_ID, 'The object’s id'),
  'If-Match': {
    name: 'If-Match',
    in: 'header',
    description: 'The cluster’s ETag (from a read of its servers): the change is refused (412) if it has changed',
    schema: { type: 'string' },
  },
  'Idempotency-Key': {
    name: 'Idempotency-Key',
    in: 'header',
    description: 'A retry with the same key (and body) gets the first answer again, with `Idempotent-Replayed`',
    schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
  },
  'If-None-Match': {
    name: 'If-None-Match',
    in: 'header',
    description: 'An ETag of an earlier read: 304 while the cluster is unchanged',
    schema: { type: 'string' },
  },
};

const parameterRef = (name: string) => {
  if (!PARAMETERS[name]) throw new Error(`no parameter ${name}`);
  return { $ref: `#/components/parameters/${name}` };
};

const header = (description: string, required = false) => ({ description, required, schema: { type: 'string' } });

const HEADERS: Record<string, Json> = {
  ETag: header('The cluster’s entity tag (for If-None-Match and If-Match)', true),
  Location: header('Where the created object is read', true),
  'Idempotent-Replayed': header('`true` on the replay of an Idempotency-Key'),
};
const headerRef = (name: keyof typeof HEADERS) => ({ $ref: `#/components/headers/${name}` });

/**
 * `GET /v1/clusters/{c}/servers/{s}/maintenance` → `getClusterServerMaintenance`: a collection followed by its
 * parameter names one item (singular).
 */
export function operationId(route: Route): string {
  const segments = route.path.split('/').filter((s) => s !== '' && s !== 'v1');
  const words = segments.flatMap((segment, i) => {
    if (segment.startsWith('{')) return [];
    const item = segments[i + 1]?.startsWith('{') ? segment.replace(/s$/, '') : segment;
    return item.split(/[^A-Za-z0-9]+/).map(pascal);
  });
  return `${route.method.toLowerCase()}${words.join('')}`;
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input: a path parameter, the query, a header or the body (`details` names the field)',
  401: 'No valid token',
  403: 'The token’s role or cluster scope does not allow this',
  404: 'Not found',
  409: 'Conflict: the budget, a claim held by others, a rollout, a reused Idempotency-Key (see `code`)',
  412: 'If-Match: the cluster has changed since that ETag',
  413: 'The body is over 64 KiB',
  415: 'The body is not application/json',
  429: 'Throttled (API Gateway)',
  500: 'Internal error (`details.requestId`)',
  503: 'The backend is unavailable: retry later',
};

/** The error statuses an operation may answer, from what it takes. */
export function errorStatuses(route: Route, op: OperationContract): number[] {
  const params = route.path.includes('{');
  return [
    ...new Set([
      413,
      500,
      ...(route.role === 'public' ? [] : [401, 403, 429, 503]),
      ...(params || op.query || op.body || op.mutation ? [400] : []),
      ...(params ? [404] : []),
      ...(op.body ? [415] : []),
      ...(op.mutation ? [409, 412] : []),
      ...(op.errors ?? []),
    ]),
  ].sort();
}

const errorResponseName = (status: number) => `Error${status}`;

/** The error answers, each once: operations refer to them. */
const errorResponses = () =>
  Object.fromEntries(
    Object.entries(ERROR_DESCRIPTIONS).map(([status, description]) => [
      errorResponseName(Number(status)),
      {
        description,
        ...(status === '401' && { headers: { 'WWW-Authenticate': header('The schemes the API takes', true) } }),
        content: json(ref('Error')),
      },
    ]),
  );

const json = (schema: Json) => ({ 'application/json': { schema } });
function answerSchema(answer: Exclude<Answer, null>, names: ReadonlyMap<Schema, string>): Json {
  const nameOf = (schema: Schema) => {
    const name = names.get(schema);
    if (!name) throw new Error('a contract answer is not an export of responses.ts');
    return name;
  };
  return Array.isArray(answer) ? { oneOf: answer.map((s) => ref(nameOf(s))) } : ref(nameOf(answer));
}

function operation(route: Route, op: OperationContract, names: ReadonlyMap<Schema, string>): Json {
  const parameters: Json[] = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => parameterRef(name!));
  if (op.query) {
    const query = z.toJSONSchema(op.query, { io: 'input' }) as { properties: Json; required?: string[] };
    for (const [name, schema] of Object.entries(query.properties))
      parameters.push({ name, in: 'query', required: query.required?.includes(name) ?? false, schema });
  }
  if (op.mutation) parameters.push(parameterRef('If-Match'), parameterRef('Idempotency-Key'));
  if (op.conditional) parameters.push(parameterRef('If-None-Match'));

  const responses: Record<string, Json> = {};
  for (const [status, answer] of Object.entries(op.ok)) {
    const headers: Json = {};
    if (op.conditional) headers.ETag = headerRef('ETag');
    if (op.location && status === '201') headers.Location = headerRef('Location');
    if (op.mutation) headers['Idempotent-Replayed'] = headerRef('Idempotent-Replayed');
    responses[status] = {
      description: answer === null ? 'Done; no body' : 'OK',
      ...(Object.keys(headers).length > 0 && { headers }),
      ...(answer !== null && { content: json(answerSchema(answer, names)) }),
    };
  }
  if (op.conditional)
    responses['304'] = {
      description: 'Not modified (If-None-Match)',
      headers: { ETag: headerRef('ETag') },
    };
  for (const status of errorStatuses(route, op))
    responses[String(status)] = { $ref: `#/components/responses/${errorResponseName(status)}` };

  return {
    operationId: operationId(route),
    summary: op.summary,
    tags: [route.family],
    ...(route.role === 'public'
      ? { security: [] }
      : {
          description: `Needs the ${route.role} role or higher (viewer < agent < operator < admin).`,
          security: [{ bearer: [route.role] }],
        }),
    ...(parameters.length > 0 && { parameters }),
    ...(op.body && {
      requestBody: { required: !op.bodyOptional, content: json(ref(op.body)) },
    }),
    responses,
  };
}

export const nativeRoutes = () => ROUTES.filter((r) => !isCompat(r.family));

/** The document; throws if a native route has no contract or a contract no route. */
export function openapiDocument(version: string): Json {
  const routes = nativeRoutes();
  const keys = new Set(routes.map(routeKey));
  const missing = [...keys].filter((k) => !CONTRACT[k]);
  const extra = Object.keys(CONTRACT).filter((k) => !keys.has(k));
  if (missing.length + extra.length > 0)
    throw new Error(`contract and route table differ: missing ${missing.join(', ')}; extra ${extra.join(', ')}`);

  const names = new Map([...RESPONSE_SCHEMAS].map(([name, schema]) => [schema, name]));
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = operation(route, CONTRACT[routeKey(route)]!, names);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'maintctl native API',
      version,
      description:
        'Maintenance-mode control plane for database fleets. Every answer carries `X-Request-Id`. The drop-in ' +
        'MaxScale, Cassandra-operator and GreptimeDB routes are described by those tools’ own docs and by docs/compat.md.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: [{ bearer: [] }],
    tags: [...new Set(routes.map((r) => r.family))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'A maintctl API token (`maintctl token create`)' },
      },
      parameters: PARAMETERS,
      headers: HEADERS,
      responses: errorResponses(),
      schemas: {
        ...components(Object.entries(REQUEST_BODIES), 'input'),
        ...components(RESPONSE_SCHEMAS, 'output'),
      },
    },
  };
}
