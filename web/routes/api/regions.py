"""Regions (city → district → subdistrict), estates, and roster import."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import MultipartBody, PathParameter
from litestar.status_codes import HTTP_201_CREATED

from votes.service import regions
from votes.service.actors import Actor
from votes.service.context import ServiceContext
from votes.service.errors import Invalid
from votes.service.schemas import (
    MAX_ID,
    EstateOut,
    RegionOut,
    RosterImportOut,
)
from web.ratelimit import client_address
from web.routes.api.meetings import staff_handler

__all__ = ["RegionController"]

#: An estate id in a path: a positive 64-bit integer (larger ones are refused with 400).
EstateId = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
#: The multipart body may carry the largest roster the service accepts plus form overhead.
_UPLOAD_BODY_BYTES = regions.MAX_ROSTER_BYTES + 64 * 1024


class RegionController(Controller):
    path = "/"
    tags = ["regions 区域与小区"]  # noqa: RUF012

    create_region = staff_handler(
        "/regions",
        regions.create_region,
        "Create a city, district or subdistrict (operator)",
        status_code=HTTP_201_CREATED,
    )

    @get("/regions", summary="All regions (staff)")
    async def list_regions(
        self, ctx: NamedDependency[ServiceContext], actor: NamedDependency[Actor]
    ) -> list[RegionOut]:
        return await regions.list_regions(ctx)

    create_estate = staff_handler(
        "/estates",
        regions.create_estate,
        "Create an estate in a subdistrict (operator)",
        status_code=HTTP_201_CREATED,
    )

    list_estates = staff_handler(
        "/estates", regions.list_estates, "The estates in the caller's scope", route=get
    )

    @get("/estates/{estate_id:int}", summary="One estate (in scope)")
    async def get_estate(
        self,
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        estate_id: EstateId,
    ) -> EstateOut:
        return await regions.get_estate(ctx, estate_id, actor=actor)

    @post(
        "/estates/{estate_id:int}/roster",
        summary="Import the estate roster (multipart field `file`: CSV or XLSX)",
        description=(
            "All or nothing: any problem refuses the whole file with 422 `input_invalid` and "
            "every problem (row, column, code) in `details.problems`."
        ),
        request_max_body_size=_UPLOAD_BODY_BYTES,
    )
    async def import_roster(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[ServiceContext],
        actor: NamedDependency[Actor],
        estate_id: EstateId,
        data: MultipartBody[dict[str, UploadFile]],
    ) -> RosterImportOut:
        upload = data.get("file")
        if not isinstance(upload, UploadFile):
            raise Invalid(
                "file_missing",
                "请在表单字段 file 中上传名册文件（CSV 或 XLSX）",
                "upload the roster file (CSV or XLSX) in the form field `file`",
            )
        content = await upload.read()
        return await regions.import_roster(
            ctx,
            estate_id,
            upload.filename or "roster",
            content,
            ip=client_address(request),
            actor=actor,
        )
