/**
 * Seed step 3: the user and the token (the password). POST and no action, so that even without JavaScript the
 * token never lands in a URL; it is checked against the API before it is kept in sessionStorage.
 */
import { useState } from 'preact/hooks';
import { ApiError, call, describe } from '../api.js';
import { ErrorText, StatusText } from '../components/Notice.js';
import { saveSession, type Session } from '../session.js';

export function Login({ notice, onSignedIn }: { notice: string | undefined; onSignedIn: (s: Session) => void }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const session = { user: String(form.get('user') ?? '').trim(), token: String(form.get('token') ?? '').trim() };
    setBusy(true);
    setError(undefined);
    try {
      await call('GET', '/v1/clusters', undefined, { session });
      saveSession(session);
      onSignedIn(session);
    } catch (e) {
      setError(e instanceof ApiError && e.status === 401 ? 'That user and token were not accepted.' : describe(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="login">
      <h1>maintctl</h1>
      <p>Sign in with your user and API token.</p>
      {notice && <StatusText>{notice}</StatusText>}
      <form method="post" onSubmit={submit}>
        <label>
          User
          <input name="user" autocomplete="username" required pattern="[A-Za-z0-9][A-Za-z0-9._@\-]{0,63}" />
        </label>
        <label>
          Token
          <input name="token" type="password" autocomplete="current-password" required />
        </label>
        <ErrorText>{error}</ErrorText>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
