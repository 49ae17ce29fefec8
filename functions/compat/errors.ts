/**
 * How each compatible family writes its errors (docs/compat.md), apart from its operations: the `$default` route's
 * function answers a wrong method on any family's path, in that family's format.
 */
import type { ErrorFormat } from '../http/handler.js';
import { STATUS } from '../http/errors.js';
import type { CompatFamily } from '../http/routes.js';
import { refusalText } from './common.js';

const errorsBody = (detail: string) => ({ errors: [{ detail }] });

/** MaxScale's errors: `{"errors":[{"detail"}]}`; an unknown server is a bare 404; Basic challenges for browsers aside. */
export const maxscaleErrors: ErrorFormat = (error, req) => {
  if (error.code === 'NotFound') return { status: 404 };
  if (error.code === 'Unauthorized') {
    const xhr = req.headers?.['x-requested-with']?.toLowerCase() === 'xmlhttprequest';
    return {
      status: 401,
      body: errorsBody('Access denied'),
      ...(!xhr && { headers: { 'www-authenticate': 'Basic realm="maxscale"' } }),
    };
  }
  if (error.code === 'Forbidden') return { status: 403, body: errorsBody('Administrative access required') };
  return { status: STATUS[error.code], body: errorsBody(refusalText(error)) };
};

/** A NotFound about the cluster itself (no default configured, no cluster by that name) is not about the pod or dc. */
const aboutCluster = (error: { message: string }) => /^(cluster\b|no default cluster)/.test(error.message);

export const cassandraErrors: ErrorFormat = (error, req) => {
  let text = refusalText(error);
  const missing = error.code === 'NotFound' && !aboutCluster(error);
  if (missing && req.params?.pod !== undefined) text = `Pod ${req.params.pod} does not exist.`;
  else if (missing && req.params?.dc !== undefined) text = `No matches found for dc ${req.params.dc}.`;
  else if (error.code === 'Unauthorized') text = 'Unauthorized';
  return {
    status: STATUS[error.code],
    body: `${text}\n`,
    ...(error.code === 'Unauthorized' && {
      headers: { 'www-authenticate': 'Bearer realm="maintctl", Basic realm="maintctl"' },
    }),
  };
};

export const greptimeErrors: ErrorFormat = (error) => ({
  status: STATUS[error.code],
  body: `${error.code === 'Unauthorized' ? 'Unauthorized' : refusalText(error)}\n`,
  ...(error.code === 'Unauthorized' && {
    headers: { 'www-authenticate': 'Bearer realm="maintctl", Basic realm="maintctl"' },
  }),
});

export const COMPAT_ERRORS: Record<CompatFamily, ErrorFormat> = {
  maxscale: maxscaleErrors,
  cassandra: cassandraErrors,
  greptimedb: greptimeErrors,
};
