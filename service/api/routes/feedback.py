"""Teach: verified question/SQL pairs become examples for similar questions."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from service import operations
from service.api.deps import RuntimeDep, authorize
from service.schemas import FeedbackRequest, FeedbackResponse

router = APIRouter(prefix="/v1", tags=["feedback"], dependencies=[Depends(authorize)])


@router.post("/feedback", response_model=FeedbackResponse)
async def feedback(body: FeedbackRequest, rt: RuntimeDep) -> FeedbackResponse:
    """Store a verified question/SQL pair; the next similar question gets it as an example."""
    return await run_in_threadpool(operations.give_feedback, rt, body)
