/** Messages: errors as alerts (the API's own words), successes as polite status updates. */
import type { ComponentChildren } from 'preact';

export const ErrorText = ({ children }: { children: ComponentChildren }) =>
  children ? (
    <p class="error" role="alert">
      {children}
    </p>
  ) : null;

export const StatusText = ({ children }: { children: ComponentChildren }) => (
  <p class="status" role="status" aria-live="polite">
    {children}
  </p>
);
