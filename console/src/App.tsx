/** The shell: the login form until someone signs in, then the navigation and the page the URL names. */
import { useEffect, useState } from 'preact/hooks';
import { onUnauthorized } from './api.js';
import { Login } from './pages/Login.js';
import { Pages } from './pages/Pages.js';
import { followLink, href, navigate } from './router.js';
import { clearSession, loadSession, type Session } from './session.js';

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [notice, setNotice] = useState<string>();

  useEffect(() => {
    onUnauthorized((message) => {
      setSession(null);
      setNotice(`Signed out: ${message}`);
    });
  }, []);

  if (!session) {
    return (
      <Login
        notice={notice}
        onSignedIn={(s) => {
          setNotice(undefined);
          setSession(s);
        }}
      />
    );
  }

  const signOut = () => {
    clearSession();
    setSession(null);
    setNotice('Signed out.');
    navigate('', true);
  };

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href('')} onClick={(e) => followLink(e, '')}>
          maintctl
        </a>
        <span class="who">
          Signed in as <strong>{session.user}</strong>
        </span>
        {/* The native API's OpenAPI 3.1 document, for generating clients (public: no sign-in needed). */}
        <a class="api-doc" href="/v1/openapi.json" target="_blank" rel="noopener">
          API (OpenAPI)
        </a>
        <button type="button" class="secondary" onClick={signOut}>
          Sign out
        </button>
      </header>
      <Pages />
    </>
  );
}
