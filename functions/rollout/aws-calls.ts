/**
 * The task function's two rare AWS calls, Lambda Invoke (`upgrade.kind: "lambda"`) and Secrets Manager
 * GetSecretValue (the webhook secret), as SigV4-signed HTTPS requests by aws4fetch: their SDK clients were
 * ≈ 110 KB of the bundle. Retried as the SDK retries (its own error classification, three attempts), and a
 * failure is what the SDK's would be to `toDomainError` and the ASL: the service's error code as `name`, its
 * message, `$fault` and `$metadata.httpStatusCode`; a socket error its `code`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_RETRY_DELAY_BASE, isServerError, isThrottlingError, isTransientError, MAXIMUM_RETRY_DELAY, THROTTLING_RETRY_DELAY_BASE } from '@smithy/core/retry';
import { AwsClient } from 'aws4fetch';

type Service = 'lambda' | 'secretsmanager';

/** As the SDK reads them: the endpoint override (service-specific first), else the region's public endpoint. */
function endpoint(service: Service, region: string): string {
  const specific = service === 'lambda' ? process.env.AWS_ENDPOINT_URL_LAMBDA : process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
  return specific ?? process.env.AWS_ENDPOINT_URL ?? `https://${service}.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
}

/** The role's credentials and region from the environment, read per call (as the SDK's `fromEnv` does). */
function client(service: Service): { aws: AwsClient; url: string } {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = process.env;
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!accessKeyId || !secretAccessKey) throw Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
  if (!region) throw new Error('Region is missing');
  const aws = new AwsClient({ accessKeyId, secretAccessKey, ...(sessionToken && { sessionToken }), service, region, retries: 0 });
  return { aws, url: endpoint(service, region) };
}

/** The SDK's reading of an AWS JSON error: the code from the header or the body, without namespace or URI. */
async function serviceError(res: Response): Promise<Error> {
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: the status alone names it
  }
  const raw = res.headers.get('x-amzn-errortype') ?? (body.code as string | undefined) ?? (body.__type as string | undefined);
  const name = raw ? raw.split(':')[0]!.split('#').at(-1)! : 'Unknown';
  const message = (body.message ?? body.Message ?? 'UnknownError') as string;
  return Object.assign(new Error(message), { name, $fault: res.status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: res.status, requestId: res.headers.get('x-amzn-requestid') ?? undefined } });
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

async function call(service: Service, path: string, init: { headers: Record<string, string>; body: string }): Promise<Response> {
  const { aws, url } = client(service);
  for (let attempt = 1; ; attempt++) {
    let error: Error;
    try {
      // Signed again for each attempt, as the SDK does (a fresh date).
      const res = await fetch(await aws.sign(`${url}${path}`, { method: 'POST', ...init }));
      if (res.ok) return res;
      error = await serviceError(res);
    } catch (thrown) {
      error = socketError(thrown);
    }
    const throttled = isThrottlingError(error as never);
    if (attempt >= DEFAULT_MAX_ATTEMPTS || !(throttled || isTransientError(error as never) || isServerError(error as never))) throw error;
    await sleep(Math.random() * Math.min(MAXIMUM_RETRY_DELAY, (throttled ? THROTTLING_RETRY_DELAY_BASE : DEFAULT_RETRY_DELAY_BASE) * 2 ** (attempt - 1)));
  }
}

/** Lambda Invoke with InvocationType Event: queued for the function, answered 202. */
export async function invokeAsync(functionName: string, payload: unknown): Promise<void> {
  const res = await call('lambda', `/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`, {
    headers: { 'content-type': 'application/octet-stream', 'x-amz-invocation-type': 'Event' },
    body: JSON.stringify(payload),
  });
  await res.body?.cancel();
}

/** Secrets Manager GetSecretValue: the current version's SecretString (undefined for a binary secret). */
export async function getSecretString(secretId: string): Promise<string | undefined> {
  const res = await call('secretsmanager', '/', {
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.GetSecretValue' },
    body: JSON.stringify({ SecretId: secretId }),
  });
  return ((await res.json()) as { SecretString?: string }).SecretString;
}
