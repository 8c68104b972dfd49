"""Request and response bodies: the contract the OpenAPI schema publishes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Instance(BaseModel):
    """One input: exactly one of an image (base64), a numeric array or a text."""

    model_config = ConfigDict(extra="forbid")

    image_base64: str | None = Field(None, description="an image file (PNG, JPEG, ...) in base64, or a data: URL")
    array: list[Any] | None = Field(None, description="pixel values 0..255 shaped like the model input, or features")
    text: str | None = Field(None, description="text, for text models")

    @model_validator(mode="after")
    def exactly_one(self) -> Instance:
        given = [name for name in ("image_base64", "array", "text") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of image_base64, array or text (got {given or 'none'})")
        return self


class PredictRequest(Instance):
    top_k: int = Field(5, ge=1, le=1000, description="how many classes to return")


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instances: list[Instance] = Field(..., min_length=1, description="inputs, all of the same kind")
    top_k: int = Field(5, ge=1, le=1000)


class TopClass(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    label: str = Field(..., alias="class")
    index: int
    probability: float


class PredictionOut(TopClass):
    top: list[TopClass]


class PredictResponse(PredictionOut):
    request_id: str


class BatchResponse(BaseModel):
    request_id: str
    predictions: list[PredictionOut]


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorDetail
    request_id: str


class Health(BaseModel):
    status: str
    run: str
    backend: str
