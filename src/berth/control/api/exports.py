"""`GET /deployments/{name}/export/{target}`: the deployment as a Compose, Kubernetes or KServe bundle."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from berth.control.api.deps import Name, Plane

router = APIRouter(tags=["exports"])


@router.get(
    "/deployments/{name}/export/{target}",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}, "application/gzip": {}}}},
    operation_id="export",
)
async def export(
    plane: Plane,
    name: Name,
    target: Literal["compose", "kubernetes", "kserve"],
    host: str | None = None,
    tls: bool = False,
    namespace: str = "berth",
    image: str | None = None,
    archive_format: Annotated[Literal["zip", "tar.gz"], Query(alias="format")] = "zip",
) -> Response:
    """The files `berth export` writes, as one archive; secrets appear only as references."""
    from berth.exporters import ExportOptions, archive, bundle

    options = ExportOptions(host=host, tls=tls, namespace=namespace)
    if image:
        options = options.model_copy(update={"image": image})
    files = bundle(target, [plane.registry.spec(name)], options)
    suffix = "zip" if archive_format == "zip" else "tar.gz"
    return Response(
        archive(files, archive_format),
        media_type="application/zip" if archive_format == "zip" else "application/gzip",
        headers={"Content-Disposition": f'attachment; filename="{name}-{target}.{suffix}"'},
    )
