import { type DragEvent, useState } from "react";
import { formatBytes } from "../lib/format";
import { useObjectUrl } from "../hooks/useObjectUrl";

interface Props {
  id: string;
  /** What it takes, e.g. "an image (PNG, JPEG, …)". */
  takes: string;
  accept: string | undefined;
  file: File | null;
  onFile: (file: File | null) => void;
}

/**
 * A file picker that is also a drop zone. The native file input stays in the page (visually hidden,
 * still focusable), so Tab reaches it and Enter or Space opens the picker; the zone, its label,
 * shows the focus ring and takes a dropped file.
 */
export function FileDrop({ id, takes, accept, file, onFile }: Props) {
  const [over, setOver] = useState(false);
  const preview = useObjectUrl(file && file.type.startsWith("image/") ? file : null);
  const clip = useObjectUrl(file && file.type.startsWith("audio/") ? file : null); // to listen to before sending

  const dragOver = (event: DragEvent) => {
    event.preventDefault(); // NOTE: without it the browser opens the dropped file instead
    event.dataTransfer.dropEffect = "copy";
    setOver(true);
  };
  const drop = (event: DragEvent) => {
    event.preventDefault();
    setOver(false);
    const dropped = event.dataTransfer.files[0];
    if (dropped) onFile(dropped);
  };

  return (
    <div className="file-drop-wrap">
      <label
        htmlFor={id}
        className={`file-drop${over ? " over" : ""}`}
        onDragEnter={dragOver}
        onDragOver={dragOver}
        onDragLeave={() => setOver(false)}
        onDrop={drop}
        data-testid="file-drop"
      >
        Input file: drop {takes} here, or choose one
        <input
          id={id}
          type="file"
          className="visually-hidden"
          accept={accept}
          aria-describedby={`${id}-hint`}
          onChange={(event) => {
            onFile(event.target.files?.[0] ?? null);
            event.target.value = ""; // so choosing the same file again, after Remove, is a change
          }}
        />
      </label>
      <p className="hint" id={`${id}-hint`}>
        Click the box or press Enter or Space in it to open the file picker; any file can also be dropped on it.
      </p>
      {file && (
        <div className="file-chosen" aria-live="polite">
          {preview && <img src={preview} alt={`Preview of ${file.name}`} className="file-preview" />}
          {clip && <audio controls src={clip} aria-label={`Play ${file.name}`} className="file-audio" />}
          <span data-testid="chosen-file">
            {file.name} ({file.type || "unknown type"}, {formatBytes(file.size)})
          </span>
          <button type="button" className="secondary small" onClick={() => onFile(null)}>
            Remove file
          </button>
        </div>
      )}
    </div>
  );
}
