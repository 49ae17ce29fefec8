/** Who is signed in: kept in sessionStorage (gone with the tab), never in a URL, a cookie or a log. */
export interface Session {
  user: string;
  token: string;
}

const KEY = 'maintctl.session';

export function loadSession(): Session | null {
  try {
    const value = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Session | null;
    return value && typeof value.user === 'string' && typeof value.token === 'string' ? value : null;
  } catch {
    return null;
  }
}

export const saveSession = (session: Session) => sessionStorage.setItem(KEY, JSON.stringify(session));
export const clearSession = () => sessionStorage.removeItem(KEY);
