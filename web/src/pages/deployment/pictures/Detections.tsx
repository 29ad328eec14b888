import { useState } from "react";
import { useObjectUrl } from "../../../hooks/useObjectUrl";
import { type Detection, percent, placeBox } from "../../../lib/pictures";

const COLOURS = ["#d9480f", "#1971c2", "#2f9e44", "#ae3ec9", "#f08c00", "#0c8599"];

/**
 * The boxes over an image of `width` × `height` pixels, placed in percent of it, so they stay on their
 * objects at whatever size the image is shown. Each label keeps one colour.
 */
export function DetectionBoxes({ objects, width, height }: { objects: Detection[]; width: number; height: number }) {
  const labels = [...new Set(objects.map((object) => object.label))];
  return (
    <>
      {objects.map((object, i) => {
        const place = placeBox(object.box, width, height);
        const colour = COLOURS[labels.indexOf(object.label) % COLOURS.length];
        return (
          <div
            key={i}
            className="detection-box"
            data-testid="detection-box"
            style={{
              left: `${place.left}%`,
              top: `${place.top}%`,
              width: `${place.width}%`,
              height: `${place.height}%`,
              borderColor: colour,
            }}
          >
            <span className="detection-label" style={{ background: colour }}>
              {`${object.label} ${percent(object.score)}`}
            </span>
          </div>
        );
      })}
    </>
  );
}

/** The uploaded image with the model's boxes drawn over it, once the image's own size is known. */
export function DetectionPicture({ file, objects }: { file: File; objects: Detection[] }) {
  const url = useObjectUrl(file);
  const [size, setSize] = useState<{ width: number; height: number } | null>(null);
  if (url == null) return null;
  return (
    <figure className="detections">
      <div className="detection-frame">
        <img
          src={url}
          alt={`${file.name} with ${objects.length} detected object${objects.length === 1 ? "" : "s"}`}
          onLoad={(event) => setSize({ width: event.currentTarget.naturalWidth, height: event.currentTarget.naturalHeight })}
        />
        {size && <DetectionBoxes objects={objects} width={size.width} height={size.height} />}
      </div>
      {objects.length === 0 && <figcaption>No objects found above the threshold.</figcaption>}
    </figure>
  );
}
