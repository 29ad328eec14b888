import { describe, expect, it } from "vitest";
import { type Route, parseRoute, routePath } from "./route";

describe("routes", () => {
  it.each<[string, Route]>([
    ["/", { page: "dashboard" }],
    ["", { page: "dashboard" }],
    ["/new", { page: "wizard" }],
    ["/new/", { page: "wizard" }],
    ["/deployments/minilm", { page: "deployment", name: "minilm" }],
    ["/deployments/minilm/progress", { page: "progress", name: "minilm" }],
    ["/elsewhere", { page: "missing", path: "/elsewhere" }],
  ])("%s", (path, route) => {
    expect(parseRoute(path)).toEqual(route);
  });

  it("round-trips", () => {
    for (const route of [{ page: "progress", name: "a-b" }, { page: "deployment", name: "x" }] as Route[]) {
      expect(parseRoute(routePath(route))).toEqual(route);
    }
  });
});
