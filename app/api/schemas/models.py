"""Bodies of /models (app/api/routes/models.py): retraining, the classifier versions, and which one is served."""

from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas.common import RequestIn, Timestamp


class RetrainIn(RequestIn):
    model_config = ConfigDict(extra="forbid")

    codebook: str | None = None
    force: bool = Field(False, description="Promote the new version even if it does not beat the served one")


class ModelVersionOut(BaseModel):
    version: int
    codebook: str
    embedding_model: str
    status: str
    trigger: str
    triggered_by: str | None
    forced: bool
    serving: bool
    message: str | None
    created_at: Timestamp
    finished_at: Timestamp | None
    card: dict | None = None


class ServingOut(BaseModel):
    codebook: str
    version: int | None = Field(description="null: similarity to the codebook alone")
    reason: str | None
    changed_by: str | None
    changed_at: Timestamp | None


class RollbackIn(RequestIn):
    model_config = ConfigDict(extra="forbid")

    codebook: str | None = None
    version: int | None = Field(None, description="The version to serve again; by default the one served "
                                                  "before the current one")
    similarity_only: bool = Field(False, description="Serve no classifier: similarity to the codebook alone")
