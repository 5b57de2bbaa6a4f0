"""A workflow mounted into the containers at /workflows (as a user's would be): tasks that take a while."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel

from baton.core.workflow import Workflow


class Slow(BaseModel):
    tasks: int = 4
    seconds: float = 30.0


workflow = Workflow("slow", inputs=Slow)


@workflow.step()
def plan(inputs: Slow) -> list[int]:
    return list(range(inputs.tasks))


@workflow.map(over=plan)
async def wait(item: int, inputs: Slow) -> int:
    await asyncio.sleep(inputs.seconds)
    return item


@workflow.step()
def done(wait: list[int]) -> int:
    return len(wait)
