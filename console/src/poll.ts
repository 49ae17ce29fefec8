/**
 * Polling a resource: `If-None-Match` with the last ETag, so an unchanged answer is a cheap 304. A server list's
 * ETag follows what routing depends on; the agents' counters (connections, lag) change without it, so every
 * `fullEveryMs` the list is read whole.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { type ApiError, call } from './api.js';

export interface Polled<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  /** Read again now (after a change the user made). */
  refresh: () => void;
}

export function usePoll<T>(path: string | null, everyMs = 1000, fullEveryMs = 10_000): Polled<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiError | Error>();
  const etag = useRef<string | undefined>(undefined);
  const timer = useRef<number | undefined>(undefined);
  const run = useRef<() => void>(() => undefined);

  useEffect(() => {
    setData(undefined);
    setError(undefined);
    etag.current = undefined;
    if (!path) return;
    let live = true;
    let fullAt = 0;
    const read = async () => {
      window.clearTimeout(timer.current);
      try {
        const full = Date.now() - fullAt >= fullEveryMs;
        if (full) fullAt = Date.now();
        const answer = await call<T>('GET', path, undefined, etag.current && !full ? { etag: etag.current } : {});
        if (!live) return;
        if (answer.status !== 304) {
          etag.current = answer.etag;
          setData(answer.body);
        }
        setError(undefined);
      } catch (e) {
        if (live) setError(e as Error);
      }
      if (live) timer.current = window.setTimeout(read, everyMs);
    };
    run.current = () => void read();
    void read();
    return () => {
      live = false;
      window.clearTimeout(timer.current);
    };
  }, [path, everyMs, fullEveryMs]);

  const refresh = useCallback(() => run.current(), []);
  return { data, error, refresh };
}
