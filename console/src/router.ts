/** A small History-API router under the app's base (/console/); the server answers index.html for any sub-path. */
import { useEffect, useState } from 'preact/hooks';

const BASE = import.meta.env.BASE_URL;
const CHANGED = 'maintctl:navigate';

export interface Route {
  /** Path segments after the base, decoded. */
  segments: string[];
  query: URLSearchParams;
}

function current(): Route {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : '';
  return {
    segments: path.split('/').filter(Boolean).map(decodeURIComponent),
    query: new URLSearchParams(location.search),
  };
}

export const href = (path: string) => `${BASE}${path.replace(/^\//, '')}`;

export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', href(path));
  else history.pushState(null, '', href(path));
  window.dispatchEvent(new Event(CHANGED));
}

/** An in-app link's click: the router navigates instead of the browser loading the page. */
export function followLink(event: Event, path: string): void {
  event.preventDefault();
  navigate(path);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const update = () => setRoute(current());
    window.addEventListener('popstate', update);
    window.addEventListener(CHANGED, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(CHANGED, update);
    };
  }, []);
  return route;
}
