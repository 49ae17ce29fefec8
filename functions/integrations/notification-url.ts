/**
 * Where notifications may go: https only, so the signed body and its receiver are not open to the network; plain
 * http only to 127.0.0.1, and only where the local stack allows it explicitly (its tests' receivers).
 */
export function checkNotificationUrl(url: string, allowLocalHttp: boolean): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${url} is not a URL`;
  }
  if (parsed.username || parsed.password) return `${url}: no credentials in the URL (the body is signed instead)`;
  if (parsed.protocol === 'https:') return undefined;
  if (parsed.protocol === 'http:' && allowLocalHttp && parsed.hostname === '127.0.0.1') return undefined;
  return `${url}: notifications go to https URLs only${allowLocalHttp ? ' (or http://127.0.0.1 locally)' : ''}`;
}

/** Set by the local stack when it allows http to 127.0.0.1; never on AWS. */
export const LOCAL_HTTP_ENV = 'MAINTCTL_NOTIFY_ALLOW_LOCAL_HTTP';
export const localHttpAllowed = () => process.env[LOCAL_HTTP_ENV] === '1';
