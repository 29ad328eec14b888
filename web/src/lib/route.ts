// Path routing over the History API: the control plane answers index.html for any UI path.

export type Route =
  | { page: "dashboard" }
  | { page: "wizard" }
  | { page: "progress"; name: string }
  | { page: "deployment"; name: string }
  | { page: "missing"; path: string };

export function parseRoute(pathname: string): Route {
  const path = pathname.replace(/\/+$/, "") || "/";
  if (path === "/") return { page: "dashboard" };
  if (path === "/new") return { page: "wizard" };
  const match = /^\/deployments\/([^/]+)(\/progress)?$/.exec(path);
  if (match?.[1]) {
    const name = decodeURIComponent(match[1]);
    return match[2] ? { page: "progress", name } : { page: "deployment", name };
  }
  return { page: "missing", path };
}

export function routePath(route: Route): string {
  switch (route.page) {
    case "dashboard":
      return "/";
    case "wizard":
      return "/new";
    case "progress":
      return `/deployments/${encodeURIComponent(route.name)}/progress`;
    case "deployment":
      return `/deployments/${encodeURIComponent(route.name)}`;
    case "missing":
      return route.path;
  }
}
