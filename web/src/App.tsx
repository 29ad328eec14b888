import { useEffect, useState } from "react";
import { onKeyRequired } from "./api/auth";
import { KeyPrompt } from "./components/KeyPrompt";
import { Link } from "./components/Link";
import { useRoute } from "./hooks/useRoute";
import type { Route } from "./lib/route";
import { Dashboard } from "./pages/Dashboard";
import { DeploymentPage } from "./pages/deployment/DeploymentPage";
import { Progress } from "./pages/Progress";
import { Wizard } from "./pages/wizard/Wizard";

const TITLES: Record<Route["page"], string> = {
  dashboard: "Dashboard",
  wizard: "New deployment",
  progress: "Deploying",
  deployment: "Deployment",
  missing: "Not found",
};

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "dashboard":
      return <Dashboard />;
    case "wizard":
      return <Wizard />;
    case "progress":
      return <Progress name={route.name} />;
    case "deployment":
      return <DeploymentPage name={route.name} />;
    case "missing":
      return (
        <section className="card">
          <h1>Page not found</h1>
          <p>
            Nothing lives at <code>{route.path}</code>. <Link to={{ page: "dashboard" }}>Go to the dashboard</Link>.
          </p>
        </section>
      );
  }
}

export function App() {
  const route = useRoute();
  const [keyReason, setKeyReason] = useState<string | null | undefined>(undefined);
  // Bumped when a key is entered: every page remounts and loads again with it.
  const [session, setSession] = useState(0);

  useEffect(() => onKeyRequired((reason) => setKeyReason(reason)), []);
  useEffect(() => {
    const name = "name" in route ? ` ${route.name}` : "";
    document.title = `${TITLES[route.page]}${name} · berth`;
  }, [route]);

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to={{ page: "dashboard" }} className="brand" aria-label="berth dashboard">
          berth
        </Link>
        <nav aria-label="Main">
          <ul>
            <li>
              <Link to={{ page: "dashboard" }} aria-current={route.page === "dashboard" ? "page" : undefined}>
                Dashboard
              </Link>
            </li>
            <li>
              <Link to={{ page: "wizard" }} aria-current={route.page === "wizard" ? "page" : undefined}>
                New deployment
              </Link>
            </li>
          </ul>
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        {keyReason !== undefined ? (
          <KeyPrompt
            reason={keyReason}
            onSaved={() => {
              setKeyReason(undefined);
              setSession((n) => n + 1);
            }}
          />
        ) : (
          <Page key={session} route={route} />
        )}
      </main>
      <footer className="footer">
        <a href="/docs">API docs</a>
      </footer>
    </>
  );
}
