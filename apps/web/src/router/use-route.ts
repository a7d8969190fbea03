import { useCallback, useSyncExternalStore } from 'react';
import { parseRoute, routePath } from './route';
import type { Route } from './route';

const NAVIGATE_EVENT = 'patchbay:navigate';

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  window.addEventListener(NAVIGATE_EVENT, onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(NAVIGATE_EVENT, onChange);
  };
}

const currentPath = (): string => window.location.pathname;

/** Go to `route` without a page load (history push). */
export function navigate(route: Route): void {
  const path = routePath(route);
  if (path === window.location.pathname) return;
  window.history.pushState(null, '', path);
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
}

/** The current route; re-renders on navigation and back/forward. */
export function useRoute(): Route {
  const path = useSyncExternalStore(subscribe, currentPath);
  return parseRoute(path);
}

/** A click handler for in-app links: plain clicks navigate in place, modified clicks open natively. */
export function useLinkHandler(route: Route): (e: React.MouseEvent) => void {
  return useCallback(
    (e: React.MouseEvent) => {
      if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
      e.preventDefault();
      navigate(route);
    },
    [route],
  );
}
