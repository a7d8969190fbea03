import type { ReactNode } from 'react';
import { routePath } from '../router/route';
import type { Route } from '../router/route';
import { useLinkHandler } from '../router/use-route';

/** An in-app link (no page load on a plain click). */
export function Link(props: {
  to: Route;
  children: ReactNode;
  className?: string;
  testId?: string;
}) {
  const onClick = useLinkHandler(props.to);
  return (
    <a
      href={routePath(props.to)}
      onClick={onClick}
      className={props.className}
      data-testid={props.testId}
    >
      {props.children}
    </a>
  );
}
