"""A workflow whose step asks a model (PYTHONPATH points at this folder in the replay test)."""

from __future__ import annotations

from pydantic import BaseModel

from baton import TaskContext, Workflow
from baton.agents import AgentContext, extract


class Request(BaseModel):
    text: str


class Order(BaseModel):
    quantity: int
    sku: str


flow = Workflow("order-intake", inputs=Request)


@flow.step()
async def read_order(inputs: Request, ctx: TaskContext) -> dict[str, object]:
    agent = AgentContext.for_task(ctx)  # the gateway, budget and replay source come from the engine
    extracted = await extract(inputs.text, Order, gateway=agent.gateway, context=agent.call)
    return {"order": extracted.value.model_dump(), "produced_by": extracted.produced_by}
