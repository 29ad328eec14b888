import { CopyButton } from "./CopyButton";

export function CodeBlock({ title, code, id }: { title: string; code: string; id?: string }) {
  return (
    <figure className="code-block" id={id}>
      <figcaption>
        <span>{title}</span>
        <CopyButton text={code} label={`Copy ${title}`} />
      </figcaption>
      <pre tabIndex={0} aria-label={title}>
        <code>{code}</code>
      </pre>
    </figure>
  );
}
