import type { AnchorHTMLAttributes, MouseEvent } from "react";
import { navigate } from "../hooks/useRoute";
import { type Route, routePath } from "../lib/route";

type Props = AnchorHTMLAttributes<HTMLAnchorElement> & { to: Route };

/** A real link (open in a new tab works) that navigates in place on a plain click. */
export function Link({ to, onClick, ...rest }: Props) {
  const handle = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    navigate(to);
  };
  return <a href={routePath(to)} onClick={handle} {...rest} />;
}
