"""Workflows for the CLI tests (PYTHONPATH points here)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from baton import TaskContext, Workflow

cyclic = Workflow("cyclic")


@cyclic.step(after=["pack"])
def fetch() -> int:
    return 1


@cyclic.step(after=["fetch"])
def clean() -> int:
    return 2


@cyclic.step(after=["clean"])
def pack() -> int:
    return 3


class Order(BaseModel):
    quantity: int = Field(ge=1)
    sku: str


typed = Workflow("typed", inputs=Order)


@typed.step()
def price(inputs: Order) -> float:
    return inputs.quantity * 2.5


not_a_workflow = 42

clocked = Workflow("clocked")


@clocked.step()
def stamp(ctx: TaskContext) -> float | None:
    """What a step stamps on what it makes (a commit's date): the run's clock."""
    return ctx.clock
