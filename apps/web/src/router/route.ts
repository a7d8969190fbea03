/** The studio's routes: `/`, `/s/:sessionId` (editor), `/s/:sessionId/monitor`. */
export type Route =
  | { readonly page: 'sessions' }
  | { readonly page: 'editor'; readonly sessionId: string }
  | { readonly page: 'monitor'; readonly sessionId: string }
  | { readonly page: 'not_found'; readonly path: string };

const SESSION_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Parse a URL path into a route; unknown paths and malformed session ids are `not_found`. */
export function parseRoute(pathname: string): Route {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  if (path === '' || path === '/') return { page: 'sessions' };
  const parts = path.split('/').slice(1);
  if (parts[0] === 's' && parts[1] !== undefined) {
    let id: string;
    try {
      id = decodeURIComponent(parts[1]);
    } catch {
      return { page: 'not_found', path: pathname };
    }
    if (!SESSION_ID.test(id)) return { page: 'not_found', path: pathname };
    if (parts.length === 2) return { page: 'editor', sessionId: id };
    if (parts.length === 3 && parts[2] === 'monitor') return { page: 'monitor', sessionId: id };
  }
  return { page: 'not_found', path: pathname };
}

/** The path of a route (the inverse of `parseRoute`). */
export function routePath(route: Route): string {
  switch (route.page) {
    case 'sessions':
      return '/';
    case 'editor':
      return `/s/${encodeURIComponent(route.sessionId)}`;
    case 'monitor':
      return `/s/${encodeURIComponent(route.sessionId)}/monitor`;
    case 'not_found':
      return route.path;
  }
}
