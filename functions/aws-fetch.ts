/**
 * AWS calls without their SDK clients, for the few a function makes (Lambda Invoke, Secrets Manager
 * GetSecretValue, three Scheduler calls, Step Functions StartExecution and DescribeExecution): SigV4-signed by aws4fetch, retried as the SDK retries (its own error
 * classification from @smithy/core, three attempts), and failing as the SDK fails to `toDomainError` and the
 * ASL: the service's error code as `name`, its message, `$fault` and `$metadata.httpStatusCode`; a socket error
 * its `code`; an attempt that takes too long a `TimeoutError`. Each client was 15 to 70 KB of a bundle, with its
 * protocol code.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_RETRY_DELAY_BASE,
  isServerError,
  isThrottlingError,
  isTransientError,
  MAXIMUM_RETRY_DELAY,
  THROTTLING_RETRY_DELAY_BASE,
} from '@smithy/core/retry';
import { AwsClient } from 'aws4fetch';

/** A service, by its signing name and the SDK's environment name for its endpoint override. */
export interface AwsService {
  signingName: 'lambda' | 'secretsmanager' | 'scheduler' | 'states';
  /** `AWS_ENDPOINT_URL_<this>`, as the SDK reads it. */
  endpointEnv: 'LAMBDA' | 'SECRETS_MANAGER' | 'SCHEDULER' | 'SFN';
}

/** What an SDK client takes in its config; by default the environment, as Lambda sets it. */
export interface AwsClientConfig {
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** How long one attempt may take, answer included. @default ATTEMPT_TIMEOUT_MS */
  attemptTimeoutMs?: number;
}

/**
 * One attempt's limit: an endpoint that accepts the connection and never answers must not hold the function
 * until Lambda kills it. Three attempts of 2.5 s and the backoff between them stay within the API functions'
 * 10 s (the task, window and sweeper functions have 55 s); the calls answer in well under a second.
 */
const ATTEMPT_TIMEOUT_MS = 2500;

export interface AwsRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path and query, escaped. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

function client(service: AwsService, config: AwsClientConfig): { aws: AwsClient; url: string } {
  const env = process.env;
  const region = config.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const credentials =
    config.credentials ??
    (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          accessKeyId: env.AWS_ACCESS_KEY_ID,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
          sessionToken: env.AWS_SESSION_TOKEN,
        }
      : undefined);
  if (!credentials)
    throw Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
  if (!region) throw new Error('Region is missing');
  const { accessKeyId, secretAccessKey, sessionToken } = credentials;
  const aws = new AwsClient({
    accessKeyId,
    secretAccessKey,
    ...(sessionToken && { sessionToken }),
    service: service.signingName,
    region,
    retries: 0,
  });
  const url =
    config.endpoint ??
    env[`AWS_ENDPOINT_URL_${service.endpointEnv}`] ??
    env.AWS_ENDPOINT_URL ??
    `https://${service.signingName}.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
  return { aws, url: url.replace(/\/$/, '') };
}

/** The SDK's reading of an AWS JSON error: the code from the header or the body, without namespace or URI. */
async function serviceError(res: Response): Promise<Error> {
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: the status alone tells
  }
  const raw =
    res.headers.get('x-amzn-errortype') ?? (body.code as string | undefined) ?? (body.__type as string | undefined);
  const name = raw ? raw.split(':')[0]!.split('#').at(-1)! : 'Unknown';
  const message = (body.message ?? body.Message ?? 'UnknownError') as string;
  return Object.assign(new Error(message), {
    name,
    $fault: res.status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: res.status, requestId: res.headers.get('x-amzn-requestid') ?? undefined },
  });
}

/**
 * fetch hides the socket's error in `cause`, where the SDK's handler throws it; and undici's name for a
 * connection closed under it is Node's (the SDK's) ECONNRESET.
 */
function socketError(error: unknown): Error {
  const cause = (error as Error).cause as (Error & { code?: string }) | undefined;
  if (!cause?.code) return error as Error;
  return cause.code === 'UND_ERR_SOCKET' ? Object.assign(new Error(cause.message), { code: 'ECONNRESET' }) : cause;
}

/** The response of a call that succeeded (2xx), after up to three attempts. */
export async function awsFetch(service: AwsService, config: AwsClientConfig, request: AwsRequest): Promise<Response> {
  const { aws, url } = client(service, config);
  for (let attempt = 1; ; attempt++) {
    let error: Error;
    try {
      // Signed again for each attempt, as the SDK does (a fresh date).
      // The signal bounds the answer's body too; its abort is a `TimeoutError`, transient as the SDK's own.
      const signed = await aws.sign(`${url}${request.path}`, {
        method: request.method,
        headers: request.headers ?? {},
        ...(request.body !== undefined && { body: request.body }),
      });
      const res = await fetch(signed, { signal: AbortSignal.timeout(config.attemptTimeoutMs ?? ATTEMPT_TIMEOUT_MS) });
      if (res.ok) return res;
      error = await serviceError(res);
    } catch (thrown) {
      error = socketError(thrown);
    }
    const throttled = isThrottlingError(error as never);
    if (
      attempt >= DEFAULT_MAX_ATTEMPTS ||
      !(throttled || isTransientError(error as never) || isServerError(error as never))
    )
      throw error;
    await sleep(
      Math.random() *
        Math.min(
          MAXIMUM_RETRY_DELAY,
          (throttled ? THROTTLING_RETRY_DELAY_BASE : DEFAULT_RETRY_DELAY_BASE) * 2 ** (attempt - 1),
        ),
    );
  }
}
