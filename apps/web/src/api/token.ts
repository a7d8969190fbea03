/** Where the studio keeps the user's access token (set it in the browser console or via `?token=`). */
export const TOKEN_STORAGE_KEY = 'patchbay.token';

/** The stored token, or undefined in open (single-user) mode. */
export function readToken(): string | undefined {
  try {
    const t = window.localStorage.getItem(TOKEN_STORAGE_KEY);
    return t === null || t === '' ? undefined : t;
  } catch {
    // Storage can be unavailable (privacy mode); open mode still works.
    return undefined;
  }
}

/** Take a `?token=` from the page URL into storage and remove it from the address bar. */
export function adoptTokenFromUrl(): void {
  const url = new URL(window.location.href);
  const token = url.searchParams.get('token');
  if (token === null) return;
  try {
    window.localStorage.setItem(TOKEN_STORAGE_KEY, token);
  } catch {
    return;
  }
  url.searchParams.delete('token');
  window.history.replaceState(null, '', url.pathname + url.search + url.hash);
}

/** A WebSocket URL on this origin for `path`, with the token as a query parameter. */
export function socketUrl(path: string, token = readToken()): string {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = new URL(`${scheme}//${window.location.host}${path}`);
  if (token !== undefined) url.searchParams.set('token', token);
  return url.toString();
}
